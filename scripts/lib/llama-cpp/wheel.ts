/**
 * The compiled llama-cpp-python wheel: PyPI ships only the sdist, so every install compiles
 * llama.cpp (minutes on 2 cores). We compile once per version and CMake flags into a wheel cache
 * and install from it ever after.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { displayPath, WorkbenchError } from '../errors.ts';
import { readLock, type LlamaCppLock } from '../profile/lock-file.ts';
import { sha256Hex } from '../fingerprint.ts';
import { runLogged, tryOutput, which } from '../process/run.ts';
import type { Plan } from '../profile/plan.ts';
import { statePaths } from '../state/paths.ts';
import { isProcessAlive } from '../state/process-identity.ts';

/**
 * Where a compiled llama-cpp-python wheel is cached: one folder per version and CMake flags
 * (and target: host or image), so a different BLAS choice never picks up a wheel built without it.
 */
export function wheelKey(plan: Plan, target: 'native' | 'container'): string {
  const args = target === 'native' ? plan.llamaCpp.hostCmakeArgs : plan.llamaCpp.cmakeArgs;
  const digest = sha256Hex(`${args}\n${target}`).slice(0, 12);
  return `llama-cpp-python-${plan.llamaCpp.version}-${digest}`;
}

export function wheelDir(plan: Plan): string {
  return join(plan.paths.wheelsDir, wheelKey(plan, 'native'));
}

export function cachedWheel(plan: Plan): string | undefined {
  const dir = wheelDir(plan);
  if (!existsSync(dir)) return undefined;
  const prefix = `llama_cpp_python-${plan.llamaCpp.version}-`;
  const wheel = readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
  return wheel ? join(dir, wheel) : undefined;
}

/**
 * Folders `<wheel dir>.partial-<pid>` left by a compile that was interrupted (Ctrl-C, a crash):
 * removed once their process is gone. A live pid may be another profile compiling right now.
 */
export function removeAbandonedPartials(wheelsDir: string): string[] {
  if (!existsSync(wheelsDir)) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(wheelsDir)) {
    const pid = /\.partial-(\d+)$/.exec(entry)?.[1];
    if (pid === undefined || isProcessAlive(Number(pid))) continue;
    rmSync(join(wheelsDir, entry), { recursive: true, force: true });
    removed.push(entry);
  }
  return removed;
}

/**
 * The python that compiles llama-cpp-python: a small venv of our own in the cache, because the
 * system python may have no pip at all (Debian's python3 without python3-pip) or refuse to
 * install (PEP 668), while `python3 -m venv` always brings one.
 */
export async function buildPython(plan: Plan, host: { path: string }): Promise<string> {
  const prefix = join(plan.paths.cacheDir, 'build-env');
  const python = join(prefix, 'bin', 'python');
  if (existsSync(python) && (await tryOutput([python, '-m', 'pip', '--version'])) !== undefined) return python;
  rmSync(prefix, { recursive: true, force: true });
  await runLogged([host.path, '-m', 'venv', prefix], {
    label: 'creating the build venv',
    logFile: statePaths(plan).buildLog,
    hint: 'Python needs venv support to build llama.cpp (Debian/Ubuntu: sudo apt-get install python3-venv; make provision installs it when it can)',
  });
  return python;
}

/** Beside the wheel: where it came from. */
const BUILD_INFO = 'build-info.json';

/** The sdist's sha256 and the llama.cpp commit in its git metadata (.git/modules/vendor/llama.cpp/HEAD). */
const SDIST_INFO = `
import hashlib, sys, tarfile
path, version = sys.argv[1], sys.argv[2]
digest = hashlib.sha256()
with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
commit = "unknown"
with tarfile.open(path) as tar:
    try:
        commit = tar.extractfile("llama_cpp_python-%s/.git/modules/vendor/llama.cpp/HEAD" % version).read().decode().strip()
    except KeyError:
        pass
print(digest.hexdigest(), commit)
`;

async function sdistInfo(python: string, sdist: string, version: string): Promise<LlamaCppLock> {
  const out = await tryOutput([python, '-c', SDIST_INFO, sdist, version]);
  const [sdistSha256, llamaCppCommit] = (out ?? '').split(' ');
  if (!sdistSha256 || !llamaCppCommit) throw new WorkbenchError(`cannot read ${sdist}`, 'delete it and run again');
  return { version, sdistSha256, llamaCppCommit };
}

/** A lock made on another machine names the sdist: this one must be the same bytes. */
function checkAgainstLock(plan: Plan, info: LlamaCppLock): void {
  const locked = readLock(plan.paths.lockFile).llamaCpp;
  if (locked && locked.version === info.version && locked.sdistSha256 !== info.sdistSha256) {
    throw new WorkbenchError(
      `the llama-cpp-python ${info.version} sdist from the index has sha256 ${info.sdistSha256}, but ${displayPath(plan.paths.lockFile)} says ${locked.sdistSha256}`,
      'the index serves other bytes than the machine that made the lock: check your index (pip config list); if the new ones are right, remove "llamaCpp" from the lock file',
    );
  }
}

/**
 * The pinned llama-cpp-python sdist, on its own: its sha256 and the llama.cpp commit it vendors
 * go into the lock, and a lock made elsewhere must match it. Both backends build from it.
 */
export async function downloadSdist(plan: Plan, python: string, dir: string): Promise<{ sdist: string; info: LlamaCppLock }> {
  // --no-binary for this package only: `:all:` would also build pip's isolated build
  // dependencies (CMake itself) from source, which takes longer than llama.cpp.
  await runLogged([python, '-m', 'pip', 'download', '--disable-pip-version-check', '--no-deps', '--no-binary', 'llama-cpp-python', '--dest', dir, `llama-cpp-python==${plan.llamaCpp.version}`], {
    label: 'downloading the llama-cpp-python sdist',
    logFile: statePaths(plan).buildLog,
    hint: 'PyPI must be reachable (behind a proxy, export HTTPS_PROXY=http://proxy:port)',
  });
  const sdist = join(dir, readdirSync(dir).find((f) => f.endsWith('.tar.gz')) ?? 'missing.tar.gz');
  const info = await sdistInfo(python, sdist, plan.llamaCpp.version);
  checkAgainstLock(plan, info);
  return { sdist, info };
}

/** Where the cached wheel came from (recorded when it was built), for the lock file. */
export function wheelBuildInfo(plan: Plan): LlamaCppLock | undefined {
  try {
    return JSON.parse(readFileSync(join(wheelDir(plan), BUILD_INFO), 'utf8')) as LlamaCppLock;
  } catch {
    return undefined;
  }
}

/**
 * Compiles llama-cpp-python into the wheel cache unless a wheel for this version and these
 * CMake flags is already there. The wheel is tagged py3-none-<platform> (it loads llama.cpp
 * with ctypes), so one build serves every Python 3 env on this machine, conda ones included.
 */
export async function ensureLlamaCppWheel(plan: Plan, host: { path: string }): Promise<{ wheel: string; built: boolean }> {
  const existing = cachedWheel(plan);
  if (existing) return { wheel: existing, built: false };
  removeAbandonedPartials(plan.paths.wheelsDir);
  const dir = wheelDir(plan);
  const temp = `${dir}.partial-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  const python = await buildPython(plan, host);
  try {
    // The sdist first, on its own: its sha256 and the llama.cpp commit it vendors go into the
    // lock, and a lock made elsewhere must match it.
    const sdistDir = join(temp, 'sdist');
    const { sdist, info } = await downloadSdist(plan, python, sdistDir);
    console.log(`  compiling llama-cpp-python ${plan.llamaCpp.version} (llama.cpp ${info.llamaCppCommit.slice(0, 12)}, CMAKE_ARGS=${plan.llamaCpp.hostCmakeArgs || '(none)'}); a few minutes on 2 cores, once`);
    await runLogged(
      [python, '-m', 'pip', 'wheel', '--verbose', '--disable-pip-version-check', '--no-deps', '--no-cache-dir', '--wheel-dir', temp, sdist],
      {
        label: 'compiling llama.cpp',
        logFile: statePaths(plan).buildLog,
        env: { ...process.env, CMAKE_ARGS: plan.llamaCpp.hostCmakeArgs, CMAKE_BUILD_PARALLEL_LEVEL: process.env.CMAKE_BUILD_PARALLEL_LEVEL },
        progress: (line) => /\[(\d+\/\d+)\]/.exec(line)?.[1]?.replace(/^/, 'step '),
        hint: compileHint(),
      },
    );
    writeFileAtomic(join(temp, BUILD_INFO), `${JSON.stringify(info, null, 2)}\n`);
    rmSync(sdistDir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const file of readdirSync(temp)) renameSync(join(temp, file), join(dir, file));
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  const built = cachedWheel(plan);
  if (!built) throw new WorkbenchError(`pip wheel produced no llama-cpp-python wheel in ${dir}`, `read ${statePaths(plan).buildLog}`);
  return { wheel: built, built: true };
}

/** The compile's real prerequisites, named by what is missing rather than guessed. */
function compileHint(): string {
  const missing = ['cc', 'c++', 'make'].filter((tool) => !which(tool));
  return missing.length
    ? `no ${missing.join(', ')} on PATH: install a C/C++ compiler (Debian/Ubuntu: sudo apt-get install build-essential), then run again`
    : 'the compiler is there: the last lines of the build log above say what failed (PyPI unreachable, out of memory or disk)';
}
