/**
 * The container engines for the e2e tests, on a machine that reaches no container registry:
 * podman with our containers.conf (runc, explicit ulimits), Debian's Docker daemon started by the
 * tests themselves, and one Debian base image made with debootstrap and imported into each.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { $, tmpdir } from 'zx';
import { REPO_ROOT } from '../helpers.ts';
import { TEST_CACHE_ROOT } from '../helpers.ts';

export const CONTAINERS_CONF = join(REPO_ROOT, 'test', 'podman', 'containers.conf');
export const TEST_BASE_IMAGE = 'localhost/llm-workbench-test-base:bookworm-slim';
const ROOTFS_TAR = join(TEST_CACHE_ROOT, 'debian-bookworm-slim.tar');

/**
 * What Debian's own bookworm-slim image does to a minbase (debuerreotype's slimify): dpkg skips
 * docs, man pages and translations from then on, and apt keeps no package cache in a layer.
 */
const DPKG_SLIM = ['/usr/share/doc/*', '/usr/share/man/*', '/usr/share/info/*', '/usr/share/locale/*', '/usr/share/groff/*', '/usr/share/lintian/*', '/usr/share/linda/*']
  .map((path) => `path-exclude ${path}`)
  .concat(['path-include /usr/share/doc/*/copyright', 'path-include /usr/share/locale/locale.alias'])
  .join('\n');
const APT_CLEAN = [
  'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
  'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
  'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";',
].join('\n');

export function podman(args: string[]) {
  return execa('podman', args, { env: { ...process.env, CONTAINERS_CONF }, reject: false, all: true });
}

/**
 * A stand-in for debian:bookworm-slim (no registry here): debootstrap --variant=minbase bookworm,
 * slimmed as Debian slims its image, once per machine, kept as a tarball for both engines.
 */
export async function baseRootfsTar(): Promise<string> {
  if (existsSync(ROOTFS_TAR)) return ROOTFS_TAR;
  mkdirSync(TEST_CACHE_ROOT, { recursive: true });
  const rootfs = tmpdir('wb-rootfs');
  const mirror = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
  // zx quotes each interpolated value.
  const sh = $({ quiet: true });
  try {
    await sh`debootstrap --variant=minbase bookworm ${rootfs} ${mirror}`;
    writeFileSync(join(rootfs, 'etc/dpkg/dpkg.cfg.d/docker-slim'), `${DPKG_SLIM}\n`);
    writeFileSync(join(rootfs, 'etc/apt/apt.conf.d/docker-clean'), `${APT_CLEAN}\n`);
    await sh`find ${join(rootfs, 'usr/share/doc')} -mindepth 1 -not -name copyright -not -type d -delete`;
    await sh`find ${join(rootfs, 'usr/share/locale')} -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +`;
    for (const dir of ['usr/share/man', 'usr/share/info', 'usr/share/groff', 'usr/share/lintian', 'var/lib/apt/lists']) {
      await sh`find ${join(rootfs, dir)} -mindepth 1 -maxdepth 1 -not -name lock -not -name partial -exec rm -rf {} +`.nothrow();
    }
    await execa('find', [join(rootfs, 'var/cache/apt'), '(', '-name', '*.bin', '-o', '-name', '*.deb', ')', '-type', 'f', '-delete']);
    await sh`tar -C ${rootfs} -cf ${`${ROOTFS_TAR}.partial`} .`;
    renameSync(`${ROOTFS_TAR}.partial`, ROOTFS_TAR);
  } finally {
    await sh`rm -rf ${rootfs}`;
  }
  return ROOTFS_TAR;
}

/** The Debian base image in podman's store. */
export async function ensureBaseImage(image = TEST_BASE_IMAGE): Promise<void> {
  if ((await podman(['image', 'exists', image])).exitCode === 0) return;
  const tar = await baseRootfsTar();
  await $({ env: { ...process.env, CONTAINERS_CONF }, quiet: true })`podman import ${tar} ${image}`;
}

/**
 * The tests' container profile: llama_cpp.server in the guide's openblas image on the test base.
 * Its image tag follows its rendered Dockerfile (the port is in EXPOSE): tests that share the
 * ports share one image build.
 */
export const CONTAINER_TEST_PORTS = { server: 18280, jupyter: 18890 };

export function testContainerProfile(extra = '', ports = CONTAINER_TEST_PORTS): string {
  return `extends: default
server:
  backend: llama-cpp-python
  port: ${ports.server}
jupyter:
  port: ${ports.jupyter}
runtime: container
llama_cpp:
  blas: openblas
container:
  engine: podman
  image: llm-workbench-test
  base: ${TEST_BASE_IMAGE}
${extra}`;
}

/** Debian's docker client (20.10): it builds with BuildKit without the buildx plugin. */
export const DOCKER_PATH = `/usr/bin:${process.env.PATH ?? '/bin'}`;
const DOCKER_DIR = '/tmp/llm-workbench-test-docker';
export const DOCKER_HOST = `unix://${DOCKER_DIR}/docker.sock`;

/** Debian's docker client against the tests' own daemon; never throws. */
export function docker(args: string[]) {
  return execa('docker', args, { env: { ...process.env, PATH: DOCKER_PATH, DOCKER_HOST }, reject: false, all: true });
}

/** An image podman built, given to the tests' Docker daemon unless it has it (podman save | docker load); throws with their output. */
export async function ensureImageInDocker(tag: string): Promise<void> {
  if ((await docker(['image', 'inspect', tag])).exitCode === 0) return;
  const moved = await execa('sh', ['-c', 'podman save "$1" | docker load', 'sh', tag], { env: { ...process.env, CONTAINERS_CONF, PATH: DOCKER_PATH, DOCKER_HOST }, reject: false, all: true });
  if (moved.exitCode !== 0) throw new Error(`podman save | docker load of ${tag}: ${moved.all}`);
}

/**
 * A Docker daemon of the tests' own (Debian's docker.io), on its own socket and data root.
 * `--iptables=false`: this machine's sandbox has no iptables; builds then need the host network
 * (docs/decisions.md#what-this-machine-can-do), which the tests ask for with LLM_WORKBENCH_BUILD_NETWORK=host.
 */
export async function ensureDockerDaemon(): Promise<void> {
  if ((await docker(['info', '--format', '{{.ServerVersion}}'])).exitCode === 0) return;
  mkdirSync(join(DOCKER_DIR, 'exec'), { recursive: true });
  // Its images (the compiled server image among them) stay for the next run on this machine.
  const dataRoot = join(TEST_CACHE_ROOT, 'docker');
  mkdirSync(dataRoot, { recursive: true });
  const daemon = execa(
    'dockerd',
    ['--iptables=false', '--data-root', dataRoot, '--exec-root', join(DOCKER_DIR, 'exec'), '-H', DOCKER_HOST, '--pidfile', join(DOCKER_DIR, 'docker.pid')],
    { detached: true, stdio: ['ignore', 'ignore', 'ignore'], reject: false, env: { ...process.env, PATH: DOCKER_PATH } },
  );
  daemon.unref();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await docker(['info', '--format', '{{.ServerVersion}}'])).exitCode === 0) return;
    await sleep(500);
  }
  throw new Error('dockerd did not answer within 60s');
}

/** Stops the daemon ensureDockerDaemon started (by its pid file), and waits until it is gone. */
export async function stopDockerDaemon(): Promise<void> {
  const pidFile = join(DOCKER_DIR, 'docker.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(200);
  }
  process.kill(pid, 'SIGKILL');
}

/** The Debian base image in the test daemon's store. */
export async function ensureDockerBaseImage(image = TEST_BASE_IMAGE): Promise<void> {
  if ((await docker(['image', 'inspect', image])).exitCode === 0) return;
  const tar = await baseRootfsTar();
  const imported = await docker(['import', tar, image]);
  if (imported.exitCode !== 0) throw new Error(`docker import failed: ${imported.all}`);
}
