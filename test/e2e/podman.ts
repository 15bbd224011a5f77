/**
 * Podman for the container tests: our containers.conf (runc, explicit ulimits) and a local
 * Debian base image made with debootstrap, since no container registry is reachable here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../helpers.ts';

export const CONTAINERS_CONF = join(REPO_ROOT, 'test', 'podman', 'containers.conf');
export const TEST_BASE_IMAGE = 'localhost/llm-workbench-test-base:bookworm';

export function podman(args: string[]) {
  return execa('podman', args, { env: { ...process.env, CONTAINERS_CONF }, reject: false, all: true });
}

/** Builds the base image once per machine: debootstrap --variant=minbase bookworm, then podman import. */
export async function ensureBaseImage(): Promise<void> {
  if ((await podman(['image', 'exists', TEST_BASE_IMAGE])).exitCode === 0) return;
  const dir = mkdtempSync(join(tmpdir(), 'wb-rootfs-'));
  try {
    const mirror = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
    await execa('debootstrap', ['--variant=minbase', 'bookworm', dir, mirror], { all: true });
    const tarball = `${dir}.tar`;
    await execa('tar', ['-C', dir, '-cf', tarball, '.']);
    try {
      await execa('podman', ['import', tarball, TEST_BASE_IMAGE], { env: { ...process.env, CONTAINERS_CONF } });
    } finally {
      rmSync(tarball, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
