/**
 * Podman for the container tests: our containers.conf (runc, explicit ulimits) and a local
 * Debian base image made with debootstrap, since no container registry is reachable here.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { $, tmpdir } from 'zx';
import { REPO_ROOT } from '../helpers.ts';

export const CONTAINERS_CONF = join(REPO_ROOT, 'test', 'podman', 'containers.conf');
export const TEST_BASE_IMAGE = 'localhost/llm-workbench-test-base:bookworm';

export function podman(args: string[]) {
  return execa('podman', args, { env: { ...process.env, CONTAINERS_CONF }, reject: false, all: true });
}

/** Builds the base image once per machine: debootstrap --variant=minbase bookworm, then podman import. */
export async function ensureBaseImage(image = TEST_BASE_IMAGE): Promise<void> {
  if ((await podman(['image', 'exists', image])).exitCode === 0) return;
  const rootfs = tmpdir('wb-rootfs');
  const mirror = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
  // zx quotes each interpolated value; the pipe streams the tarball without holding it in memory.
  const sh = $({ env: { ...process.env, CONTAINERS_CONF }, quiet: true });
  try {
    await sh`debootstrap --variant=minbase bookworm ${rootfs} ${mirror}`;
    await sh`tar -C ${rootfs} -c . | podman import - ${image}`;
  } finally {
    await sh`rm -rf ${rootfs}`;
  }
}
