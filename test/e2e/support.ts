/**
 * End-to-end support: a user's world in temporary folders (HOME, env dir, state, data, ports),
 * running our Makefile targets for real. Only build outputs are shared: the compiled wheel, the
 * llama-server build and the models live in a cache outside the clone (TEST_CACHE_ROOT), keyed by
 * what they are made of, so every test world and every later run on this machine finds them.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { processStartTime } from '../../scripts/lib/state/process-identity.ts';
import { REPO_ROOT, SHARED_CACHE, TEST_CACHE_ROOT, tempDir } from '../helpers.ts';

export { SHARED_CACHE, TEST_CACHE_ROOT } from '../helpers.ts';

/** One data folder (venvs, notebooks) per test file: worlds in a file share it, files never do. */
const FILE_DATA = tempDir('wb-data-');

/** The ports the repo's profiles use: a test never binds them (a user's own stack may hold them). */
const USER_PORTS = { server: 8080, jupyter: 18888 };

/**
 * uv, pinned, kept in the test cache: step 20 takes it when it is on PATH (the route of users who
 * have uv), and a locked venv then installs in about a second where pip takes a minute. Every
 * world has it; pip's route (a fresh machine has no uv) is proven by test/fresh-machine.ts.
 */
const UV_VERSION = '0.13.9';
async function pinnedUv(): Promise<string> {
  const dir = join(TEST_CACHE_ROOT, 'tools', `uv-${UV_VERSION}`);
  if (existsSync(join(dir, 'bin', 'uv'))) return join(dir, 'bin');
  // Made aside and renamed into place: a test process killed midway leaves no half-made uv. Only
  // the uv binary goes on a world's PATH: the venv's python must not stand in for the host's.
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  await execa('python3', ['-m', 'venv', join(partial, 'venv')]);
  await execa(join(partial, 'venv', 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `uv==${UV_VERSION}`]);
  mkdirSync(join(partial, 'bin'));
  copyFileSync(join(partial, 'venv', 'bin', 'uv'), join(partial, 'bin', 'uv'));
  chmodSync(join(partial, 'bin', 'uv'), 0o755);
  rmSync(join(partial, 'venv'), { recursive: true, force: true });
  try {
    renameSync(partial, dir);
  } catch {
    rmSync(partial, { recursive: true, force: true }); // another test process put it there first
  }
  return join(dir, 'bin');
}
const UV_BIN = await pinnedUv();
/**
 * Downloads are shared like the wheel cache: keyed by what they are (uv's and pip's own caches).
 * The machine's trust settings travel as a user's shell has them (uv reads SSL_CERT_FILE where pip
 * reads pip.conf).
 */
const TOOL_ENV: Record<string, string> = {
  // The chat page in Chromium takes about 10 s a smoke run: the tests about the page turn it on
  // (SMOKE_BROWSER: '1'); the others prove their own capability (the page's HTTP check still runs).
  SMOKE_BROWSER: '0',
  UV_CACHE_DIR: join(TEST_CACHE_ROOT, 'uv-cache'),
  PIP_CACHE_DIR: join(TEST_CACHE_ROOT, 'pip-cache'),
  ...Object.fromEntries(['SSL_CERT_FILE', 'SSL_CERT_DIR'].flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : []))),
};

export interface World {
  home: string;
  state: string;
  /** This world's copy of env/: the repo's profiles with this world's ports, and its lock files. */
  envDir: string;
  ports: { server: number; jupyter: number };
  env: Record<string, string>;
}

/**
 * Ports away from the user's (8080, 18888) and from the kernel's ephemeral range (32768 and up,
 * where outgoing connections land), numbered from the test process's pid so two test processes
 * take different ones.
 */
let nextPort = 20000 + (process.pid % 450) * 20;
function takePort(): number {
  const port = nextPort++;
  if (nextPort > 29999) nextPort = 20000;
  return port;
}

/**
 * A world of its own. Its env dir holds the repo's profiles and lock files with the user's ports
 * replaced by the world's, so no test writes a tracked file (a lock file updated by a run lands
 * in the copy) or meets a stack the user runs.
 */
export function newWorld(extra: Record<string, string> = {}): World {
  const home = tempDir('wb-home-');
  const state = join(home, 'state');
  const envDir = join(home, 'env');
  const ports = { server: takePort(), jupyter: takePort() };
  mkdirSync(SHARED_CACHE, { recursive: true });
  mkdirSync(envDir, { recursive: true });
  for (const file of readdirSync(join(REPO_ROOT, 'env'))) {
    const text = readFileSync(join(REPO_ROOT, 'env', file), 'utf8');
    writeFileSync(join(envDir, file), file.endsWith('.yml') ? withPorts(text, ports) : text);
  }
  const env: Record<string, string> = {
    PATH: `${UV_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: home,
    ...TOOL_ENV,
    LLM_WORKBENCH_STATE_DIR: state,
    LLM_WORKBENCH_CACHE_DIR: SHARED_CACHE,
    LLM_WORKBENCH_DATA_DIR: FILE_DATA,
    LLM_WORKBENCH_BUILD_DIR: join(home, 'build'),
    LLM_WORKBENCH_ENV_DIR: envDir,
    ...extra,
  };
  return { home, state, envDir, ports, env };
}

/** A profile text with the user's default ports replaced by a world's. */
export function withPorts(text: string, ports: World['ports']): string {
  return text.replace(new RegExp(`^(\\s+port:\\s*)${USER_PORTS.server}\\s*$`, 'gm'), `$1${ports.server}`).replace(new RegExp(`^(\\s+port:\\s*)${USER_PORTS.jupyter}\\s*$`, 'gm'), `$1${ports.jupyter}`);
}

/** Adds profiles (name -> YAML text) to a world's env dir; returns the dir. */
export function worldProfiles(world: World, files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(world.envDir, `${name}.yml`), text);
  return world.envDir;
}

/** Copies a repo file into a world's env dir unchanged (a lock file that must travel with a profile). */
export function copyToWorld(world: World, file: string, dir = world.envDir): void {
  copyFileSync(join(REPO_ROOT, 'env', file), join(dir, file));
}

/** `make <target>` in the repo, as a user would type it; never throws. */
export function make(world: World, targets: string, vars: Record<string, string> = {}) {
  return execa('make', ['--no-print-directory', '-s', ...targets.split(' '), ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)], {
    cwd: REPO_ROOT,
    env: world.env,
    extendEnv: false,
    reject: false,
    all: true,
    timeout: 1_800_000,
  });
}

/** The step lines of a provision: step name -> outcome. */
export function stepOutcomes(stdout: string): Map<string, string> {
  const outcomes = new Map<string, string>();
  for (const match of stdout.matchAll(/^(\d\d-[a-z-]+)\s+(created|unchanged|replaced|removed|skipped|failed)\s+\d+\.\d+s/gm)) {
    outcomes.set(match[1] as string, match[2] as string);
  }
  return outcomes;
}

/** A process that has exited but not yet been reaped (a zombie) counts as gone. */
export function isAlive(pid: number): boolean {
  return processStartTime(pid) !== undefined;
}

/** The children of a process (by the ppid field of /proc/<pid>/stat): the server under its exit-status shell. */
export function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}
