/**
 * The pinned llama-cpp-python sdist: the one source both backends build from (the wheel, and
 * llama.cpp's own programs from the tree it vendors), and the small build venv that fetches it.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { displayPath, WorkbenchError } from '../errors.ts';
import { readLock } from '../state/lock-file.ts';
import { runLogged, tryOutput, which } from '../process/run.ts';
import { statePaths } from '../state/paths.ts';

/** The python that makes the build venv: the profile's version when installed, else python3. */
export function hostBuildPython(plan: Plan): { path: string } {
  for (const name of [`python${plan.python.version}`, 'python3']) {
    const path = which(name);
    if (path) return { path };
  }
  throw new WorkbenchError('no python3 on PATH to build llama.cpp with', 'install Python 3 with venv support (Debian/Ubuntu: sudo apt-get install python3 python3-venv)');
}

/**
 * The python that compiles llama.cpp: a small venv of our own in the cache, because the system
 * python may have no pip at all (Debian's python3 without python3-pip) or refuse to install
 * (PEP 668), while `python3 -m venv` always brings one.
 */
export async function buildPython(plan: Plan, host: { path: string } = hostBuildPython(plan)): Promise<string> {
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

const EXTRACT = `
import sys, tarfile
sdist, version, dest, below = sys.argv[1:]
prefix = "llama_cpp_python-%s/%s" % (version, below)
with tarfile.open(sdist) as tar:
    members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
    if not members:
        sys.exit("no %s in %s" % (prefix, sdist))
    try:
        tar.extractall(dest, members=members, filter="data")
    except TypeError:  # Python before 3.11.4 has no extraction filters
        tar.extractall(dest, members=members)
`;
import type { LlamaCppLock, Plan } from '../plan/index.ts';

/**
 * The sdist unpacked into `dest` (all of it, or only what is below `below`, such as
 * "vendor/llama.cpp/"): returns the package folder and the llama.cpp tree inside it.
 */
export async function unpackSdist(
  plan: Plan,
  { python, sdist, dest, logFile, hint, below = '' }: { python: string; sdist: string; dest: string; logFile: string; hint: string; below?: string },
): Promise<{ packageDir: string; llamaCppDir: string }> {
  await runLogged([python, '-c', EXTRACT, sdist, plan.llamaCpp.version, dest, below], { label: 'unpacking llama.cpp', logFile, hint });
  const packageDir = join(dest, `llama_cpp_python-${plan.llamaCpp.version}`);
  return { packageDir, llamaCppDir: join(packageDir, 'vendor', 'llama.cpp') };
}
