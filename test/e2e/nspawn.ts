/**
 * A Debian machine with systemd as process 1, booted on this one by systemd-nspawn: the test
 * base's debootstrap tree with systemd, dbus and make added (kept as a tarball in the test cache),
 * folders of the host bound at the same paths, and the host's network (its loopback is the
 * machine's: a service it starts answers the test directly). Commands run inside through
 * nsenter, as root, with the user manager's environment.
 *
 * This sandbox has no systemd of its own and a cgroup v1 layout nspawn does not read: nspawn gets
 * the unified hierarchy (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY), no registration with a machined that
 * is not there (--register=no --keep-unit), and a tmpfs for its propagation folder under /run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { TEST_CACHE_ROOT, tempDir } from '../helpers.ts';
import { baseRootfsTar } from './podman.ts';

// systemd and its user sessions, make, llama.cpp's OpenMP, and the shared libraries a Python built
// from source (pyenv's, bound in from the host) loads for JupyterLab: sqlite3, ssl, ffi, compression.
const PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'dbus-user-session', 'libgomp1', 'make', 'procps', 'libsqlite3-0', 'libssl3', 'libffi8', 'libbz2-1.0', 'liblzma5', 'zlib1g', 'libreadline8', 'libncursesw6', 'libuuid1', 'libgdbm6'];
const SYSTEMD_TAR = join(TEST_CACHE_ROOT, `debian-bookworm-systemd-${createHash('sha256').update(PACKAGES.join(' ')).digest('hex').slice(0, 8)}.tar`);
const NSPAWN_ENV = { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' };

function prepareHost(): void {
  // nspawn removes its propagation folder when it ends, and refuses to unless it is on a tmpfs.
  mkdirSync('/run/systemd/nspawn', { recursive: true });
  const mounted = readFileSync('/proc/self/mounts', 'utf8').split('\n').some((line) => line.split(' ')[1] === '/run/systemd/nspawn');
  if (!mounted) execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', '/run/systemd/nspawn']);
}

/** The tree: the test base plus systemd, made once per machine. */
async function systemdTreeTar(): Promise<string> {
  if (existsSync(SYSTEMD_TAR)) return SYSTEMD_TAR;
  prepareHost();
  const tree = join(tempDir('wb-nspawn-build-'), 'tree');
  mkdirSync(tree);
  await execa('tar', ['-C', tree, '-xf', await baseRootfsTar()]);
  execFileSync('cp', ['/etc/resolv.conf', join(tree, 'etc/resolv.conf')]);
  await execa('systemd-nspawn', ['-q', '--register=no', '--keep-unit', '-D', tree, '--setenv=DEBIAN_FRONTEND=noninteractive', '/bin/sh', '-c', `apt-get update -qq && apt-get install -y -qq --no-install-recommends ${PACKAGES.join(' ')} >/dev/null`], { env: NSPAWN_ENV });
  await execa('tar', ['-C', tree, '-cf', `${SYSTEMD_TAR}.partial`, '.']);
  renameSync(`${SYSTEMD_TAR}.partial`, SYSTEMD_TAR);
  return SYSTEMD_TAR;
}

export interface Machine {
  tree: string;
  /** Boots it (again); resolves once systemd says it is running. */
  boot(): Promise<void>;
  /** Runs a shell command inside as root, with `env` added. */
  run(command: string, env?: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string; all: string }>;
  /** systemctl poweroff, waited for. */
  poweroff(): Promise<void>;
}

/** A machine with these host folders bound at their own paths (read-only where said). */
export async function systemdMachine(binds: { path: string; readOnly?: boolean; at?: string }[]): Promise<Machine> {
  prepareHost();
  const tree = join(tempDir('wb-nspawn-'), 'tree');
  mkdirSync(tree);
  await execa('tar', ['-C', tree, '-xf', await systemdTreeTar()]);
  let nspawn: ChildProcess | undefined;
  let leader: number | undefined;
  const args = binds.map((b) => `--bind${b.readOnly ? '-ro' : ''}=${b.path}${b.at ? `:${b.at}` : ''}`);
  const machine: Machine = {
    tree,
    async boot() {
      nspawn = spawn('systemd-nspawn', ['-q', '--register=no', '--keep-unit', '--boot', '--console=passive', '-D', tree, ...args], { env: NSPAWN_ENV, stdio: 'ignore', detached: true });
      const deadline = Date.now() + 60_000;
      leader = undefined;
      while (Date.now() < deadline) {
        leader ??= childOf(nspawn.pid!);
        if (leader) {
          const state = await machine.run('systemctl is-system-running').catch(() => undefined);
          if (state && /^(running|degraded)$/m.test(state.stdout)) return;
        }
        await sleep(300);
      }
      throw new Error(`the machine in ${tree} did not boot within 60 s`);
    },
    async run(command, env = {}) {
      if (!leader) throw new Error('the machine is not booted');
      const vars = Object.entries({ PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', HOME: '/root', XDG_RUNTIME_DIR: '/run/user/0', ...env }).map(([k, v]) => `${k}=${v}`);
      const result = await execa('nsenter', ['--target', String(leader), '--all', '--', 'env', '-i', ...vars, '/bin/sh', '-c', command], { reject: false, all: true, stdin: 'ignore' });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), all: String(result.all) };
    },
    async poweroff() {
      if (!nspawn || nspawn.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => nspawn!.once('exit', () => resolve()));
      await machine.run('systemctl poweroff --no-block');
      // The timer must not hold the test process open for its whole minute once the machine is off.
      const timeout = sleep(60_000, 'timeout' as const, { ref: false });
      if ((await Promise.race([exited, timeout])) === 'timeout') {
        process.kill(-nspawn.pid!, 'SIGKILL');
        await exited;
      }
      leader = undefined;
    },
  };
  return machine;
}

/** The machine's process 1: nspawn's child. */
function childOf(pid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}
