/**
 * llama.cpp's own llama-server and llama-bench, built from the llama.cpp tree vendored in the
 * pinned llama-cpp-python sdist (FIELD-NOTES §7), so both backends run the same llama.cpp commit.
 * CMake and Ninja come from PyPI into our build venv; nothing else is fetched (the web UI is off).
 * Cached by version and CMake flags, like the wheel.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { WorkbenchError } from '../errors.ts';
import { sha256Hex } from '../fingerprint.ts';
import { runLogged, which } from '../process/run.ts';
import type { LlamaCppLock } from '../profile/lock-file.ts';
import type { Plan } from '../profile/plan.ts';
import { statePaths } from '../state/paths.ts';
import { applyKeepAlivePatch, KEEP_ALIVE_PATCH } from './keep-alive-patch.ts';
import { blasCmakeArgs } from './versions.ts';
import { buildPython, downloadSdist, removeAbandonedPartials } from './wheel.ts';

export function llamaServerCmakeArgs(plan: Plan): string[] {
  return [
    '-DCMAKE_BUILD_TYPE=Release',
    '-DLLAMA_CURL=OFF',
    '-DLLAMA_BUILD_UI=OFF',
    '-DLLAMA_USE_PREBUILT_UI=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_EXAMPLES=OFF',
    '-DBUILD_SHARED_LIBS=OFF',
    ...blasCmakeArgs(plan.llamaCpp.version, plan.llamaCpp.blas).split(' ').filter(Boolean),
  ];
}

/** Where this version and these flags are built: `.../llama-server/llama.cpp-0.3.36-<flags>`. */
export function llamaServerKey(plan: Plan): string {
  // The patch is part of what is built: a build without it (or with another) is another key.
  return `llama.cpp-${plan.llamaCpp.version}-${sha256Hex([...llamaServerCmakeArgs(plan), KEEP_ALIVE_PATCH.id].join(' ')).slice(0, 12)}`;
}

export function llamaServerDir(plan: Plan): string {
  return join(plan.paths.cacheDir, 'llama-server', llamaServerKey(plan));
}

export interface LlamaServerBuild {
  server: string;
  bench: string;
}

export function cachedLlamaServer(plan: Plan): LlamaServerBuild | undefined {
  const dir = llamaServerDir(plan);
  const build = { server: join(dir, 'llama-server'), bench: join(dir, 'llama-bench') };
  return existsSync(build.server) && existsSync(build.bench) ? build : undefined;
}

const EXTRACT = `
import sys, tarfile
sdist, version, dest = sys.argv[1:]
prefix = "llama_cpp_python-%s/vendor/llama.cpp/" % version
with tarfile.open(sdist) as tar:
    members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
    if not members:
        sys.exit("no vendor/llama.cpp in %s" % sdist)
    try:
        tar.extractall(dest, members=members, filter="data")
    except TypeError:  # Python before 3.11.4 has no extraction filters
        tar.extractall(dest, members=members)
`;

export async function ensureLlamaServer(plan: Plan, host: { path: string }): Promise<LlamaServerBuild & { built: boolean; info?: LlamaCppLock }> {
  const existing = cachedLlamaServer(plan);
  if (existing) return { ...existing, built: false };
  const root = join(plan.paths.cacheDir, 'llama-server');
  removeAbandonedPartials(root);
  const dir = llamaServerDir(plan);
  const temp = `${dir}.partial-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  const logFile = statePaths(plan).buildLog;
  const missing = ['cc', 'c++'].filter((tool) => !which(tool));
  const hint = missing.length
    ? `no ${missing.join(', ')} on PATH: install a C/C++ compiler (Debian/Ubuntu: sudo apt-get install build-essential)`
    : `the last lines of ${logFile} say what failed`;
  try {
    const python = await buildPython(plan, host);
    const bin = join(python, '..');
    await runLogged([python, '-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', 'cmake', 'ninja'], { label: 'installing CMake and Ninja from PyPI', logFile, hint: 'PyPI must be reachable' });
    const { sdist, info } = await downloadSdist(plan, python, join(temp, 'sdist'));
    await runLogged([python, '-c', EXTRACT, sdist, plan.llamaCpp.version, join(temp, 'src')], { label: 'unpacking llama.cpp', logFile, hint });
    const source = join(temp, 'src', `llama_cpp_python-${plan.llamaCpp.version}`, 'vendor', 'llama.cpp');
    const build = join(temp, 'build');
    const patched = applyKeepAlivePatch(source);
    if (patched !== 'applied') console.log(`  (the keep-alive fix does not apply to this llama.cpp: built as it is)`);
    console.log(`  building llama-server and llama-bench from llama.cpp ${info.llamaCppCommit.slice(0, 12)} (llama-cpp-python ${plan.llamaCpp.version}'s source); a few minutes on 2 cores, once`);
    await runLogged([join(bin, 'cmake'), '-S', source, '-B', build, '-G', 'Ninja', `-DCMAKE_MAKE_PROGRAM=${join(bin, 'ninja')}`, ...llamaServerCmakeArgs(plan)], { label: 'configuring llama.cpp', logFile, hint });
    await runLogged([join(bin, 'cmake'), '--build', build, '--target', 'llama-server', 'llama-bench', '-j', String(availableParallelism())], {
      label: 'compiling llama-server',
      logFile,
      progress: (line) => /\[(\d+\/\d+)\]/.exec(line)?.[1]?.replace(/^/, 'step '),
      hint,
    });
    const out = join(temp, 'out');
    mkdirSync(out);
    for (const program of ['llama-server', 'llama-bench']) copyFileSync(join(build, 'bin', program), join(out, program));
    writeFileAtomic(join(out, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);
    mkdirSync(root, { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(out, dir);
    const built = cachedLlamaServer(plan);
    if (!built) throw new WorkbenchError(`the llama.cpp build left no llama-server in ${dir}`, `read ${logFile}`);
    return { ...built, built: true, info };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** Where the cached build came from, for the lock file. */
export function llamaServerBuildInfo(plan: Plan): LlamaCppLock | undefined {
  try {
    return JSON.parse(readFileSync(join(llamaServerDir(plan), 'build-info.json'), 'utf8')) as LlamaCppLock;
  } catch {
    return undefined;
  }
}
