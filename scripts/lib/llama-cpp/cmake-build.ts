/**
 * llama.cpp's own programs (llama-server; llama-bench and llama-batched-bench for make bench),
 * built with CMake from the llama.cpp tree vendored in the pinned llama-cpp-python sdist, so
 * every program runs the same llama.cpp commit as the wheel. CMake and Ninja come from PyPI into
 * the build venv; the chat page, where the plan has it, is built with npm (web-ui.ts) and embedded
 * from tools/ui/dist (upstream's download of it from Hugging Face stays off). Each set of programs is its own
 * cache entry, keyed by version, CMake flags and patch: llama-bench is compiled only when make
 * bench first needs it, from the build tree llama-server left (seconds, not minutes).
 */
import { copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkbenchError } from '../errors.ts';
import { sha256Hex } from '../fingerprint.ts';
import { runLogged, which } from '../process/run.ts';
import { withLock } from '../state/lock.ts';
import { statePaths } from '../state/paths.ts';
import { assertAcceleratorUsable } from '../accelerator/choose.ts';
import { acceleratorNamed } from '../accelerator/index.ts';
import { compilerCacheEnv } from './compiler-cache.ts';
import { buildOnce, readBuildInfo, type BuildArtifact } from './artifact.ts';
import { applyKeepAlivePatch, KEEP_ALIVE_PATCH } from './keep-alive-patch.ts';
import { applySourcePatches, patchKey, SOURCE_PATCHES } from './source-patches.ts';
import { unpackSdist } from './sdist.ts';
import { blasCmakeArgs } from './versions.ts';
import { placeWebUi, WEB_UI, WEB_UI_RECIPE } from './web-ui.ts';
import type { CommandInput, LlamaCppLock, Plan } from '../plan/index.ts';

export function llamaCppCmakeArgs(plan: CommandInput): string[] {
  return [
    '-DCMAKE_BUILD_TYPE=Release',
    '-DLLAMA_CURL=OFF',
    '-DLLAMA_BUILD_UI=OFF',
    '-DLLAMA_USE_PREBUILT_UI=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_EXAMPLES=OFF',
    '-DBUILD_SHARED_LIBS=OFF',
    ...blasCmakeArgs(plan.llamaCpp.version, plan.llamaCpp.blas).split(' ').filter(Boolean),
    ...plan.accelerator.cmakeArgs,
    // ggml's RPC backend (llama-server --rpc, rpc-server) only where the profile spreads a model:
    // every other build keeps its flags, so its key and its cached programs.
    ...(plan.distributed ? ['-DGGML_RPC=ON'] : []),
  ];
}

/**
 * The commit a build reports (`/props` build_info, every response's `system_fingerprint`). The
 * sdist has no git work tree, so llama.cpp's cmake/build-info.cmake finds none and says
 * "b0-unknown"; LLAMA_BUILD_COMMIT, when defined, is taken as it is (its CMakeLists.txt).
 */
export function buildCommitArg(commit: string): string {
  return `-DLLAMA_BUILD_COMMIT=${/^[0-9a-f]{7,40}$/.test(commit) ? commit.slice(0, 12) : 'unknown'}`;
}

/** Parts of a build that are not CMake flags but change what is built: a new id, a new key. */
const BUILD_RECIPE = [KEEP_ALIVE_PATCH.id, 'build-commit-1', ...SOURCE_PATCHES.map(patchKey)];

/** `llama.cpp-0.3.36-<digest>`: the version and a digest of the flags, patches and programs. */
export function cmakeBuildKey(plan: CommandInput, programs: readonly string[]): string {
  // The CPU build's key predates accelerators: it names no toolkit, so its cached builds stay valid.
  const toolchain = plan.accelerator.toolchainKey ? [plan.accelerator.toolchainKey] : [];
  const page = plan.server.webUi ? [WEB_UI_RECIPE] : [];
  return `llama.cpp-${plan.llamaCpp.version}-${sha256Hex([...llamaCppCmakeArgs(plan), ...BUILD_RECIPE, ...toolchain, ...page, ...programs].join(' ')).slice(0, 12)}`;
}

/**
 * The CMake build tree of this source and these flags, kept in the cache beside the programs: a
 * second set of programs from the same tree (llama-bench after llama-server) compiles only its own
 * files, seconds instead of minutes, since both link the same ggml and llama libraries. An
 * interrupted build leaves the tree to Ninja, which finishes it next time.
 */
export function buildTreeDir(plan: CommandInput): string {
  return join(plan.paths.cacheDir, 'llama.cpp-build', cmakeBuildKey(plan, []));
}

/** One build in a tree at a time: another process building there is waited for (bounded), not raced. */
async function withBuildTree<T>(tree: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(tree), { recursive: true });
  const lock = `${tree}.lock`;
  const deadline = Date.now() + 60 * 60_000;
  for (let said = false; ; said = true) {
    try {
      return await withLock(lock, { command: 'a llama.cpp build', what: tree }, fn);
    } catch (error) {
      if (!(error instanceof WorkbenchError) || !/is changing/.test(error.message) || Date.now() > deadline) throw error;
      if (!said) console.log(`  another llm-workbench command is building in ${tree}: waiting for it`);
      await sleep(2000);
    }
  }
}

/**
 * The build tree of this plan, configured: CMake and Ninja in the build venv, the patched source
 * unpacked, the accelerator's toolkit ready, CMake run once. Compiling is the caller's; a test
 * that only configures (the CUDA route on a machine without a GPU) stops here.
 */
export async function configureBuildTree(
  plan: Plan,
  { python, sdist, info, work, logFile }: { python: string; sdist: string; info: LlamaCppLock; work: string; logFile: string },
): Promise<{ bin: string; build: string; env: Record<string, string | undefined>; hint: string }> {
  const missing = ['cc', 'c++'].filter((tool) => !which(tool));
  const hint = missing.length
    ? `no ${missing.join(', ')} on PATH: install a C/C++ compiler (Debian/Ubuntu: sudo apt-get install build-essential)`
    : `the last lines of ${logFile} say what failed`;
  const bin = join(python, '..');
  const tree = buildTreeDir(plan);
  const source = join(tree, 'src', `llama_cpp_python-${plan.llamaCpp.version}`, 'vendor', 'llama.cpp');
  const build = join(tree, 'build');
  await runLogged([python, '-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', 'cmake', 'ninja'], { label: 'installing CMake and Ninja from PyPI', logFile, hint: 'PyPI must be reachable' });
  mkdirSync(tree, { recursive: true });
  if (!existsSync(join(tree, 'src'))) {
    // Unpacked and patched aside, then moved in whole: the tree never holds half a source.
    const unpacked = join(work, 'src');
    const { llamaCppDir } = await unpackSdist(plan, { python, sdist, dest: unpacked, logFile, hint, below: 'vendor/llama.cpp/' });
    if (applyKeepAlivePatch(llamaCppDir) !== 'applied') console.log(`  (the keep-alive fix does not apply to this llama.cpp: built as it is)`);
    for (const id of applySourcePatches(llamaCppDir)) console.log(`  (the llama.cpp patch ${id} does not apply to this llama.cpp: built without it)`);
    renameSync(unpacked, join(tree, 'src'));
  }
  // The chat page, built (npm) and placed where llama.cpp's CMake embeds it from.
  if (plan.server.webUi) {
    await WEB_UI.ensure(plan);
    placeWebUi(plan, source);
  }
  // The accelerator's toolkit (CUDA's nvcc and libraries, Vulkan's headers and glslc), ready before CMake looks.
  const toolchain = await acceleratorNamed(plan.accelerator.name).buildToolchain(plan, { python, logFile });
  const env = { ...process.env, ...compilerCacheEnv(plan, tree), ...toolchain.env };
  if (!existsSync(join(build, 'build.ninja'))) {
    const configure = [join(bin, 'cmake'), '-S', source, '-B', build, '-G', 'Ninja', `-DCMAKE_MAKE_PROGRAM=${join(bin, 'ninja')}`, ...llamaCppCmakeArgs(plan), ...toolchain.configureArgs, buildCommitArg(info.llamaCppCommit)];
    await runLogged(configure, { label: 'configuring llama.cpp', logFile, hint, env });
  }
  return { bin, build, env, hint };
}

/** The programs named, built once per key into `<cache>/<folder>/<key>/`. */
export function cmakeProgramsArtifact(folder: string, programs: readonly string[]): BuildArtifact & { program(plan: CommandInput, name: string): string } {
  const dir = (plan: CommandInput) => join(plan.paths.cacheDir, folder, cmakeBuildKey(plan, programs));
  const isComplete = (path: string) => programs.every((p) => existsSync(join(path, p)));
  return {
    what: programs.join(' and '),
    dir,
    cached: (plan) => isComplete(dir(plan)),
    program: (plan, name) => join(dir(plan), name),
    info: (plan) => readBuildInfo(dir(plan)),
    ensure: (plan) => {
      assertAcceleratorUsable(plan.accelerator, plan.profile.name);
      return buildOnce(plan, dir(plan), isComplete, ({ python, sdist, info, work, out }) =>
        withBuildTree(buildTreeDir(plan), async () => {
          const logFile = statePaths(plan).buildLog;
          console.log(`  building ${programs.join(', ')} from llama.cpp ${info.llamaCppCommit.slice(0, 12)} (llama-cpp-python ${plan.llamaCpp.version}'s source); a few minutes on 2 cores the first time`);
          const { bin, build, env, hint } = await configureBuildTree(plan, { python, sdist, info, work, logFile });
          await runLogged([join(bin, 'cmake'), '--build', build, '--target', ...programs, '-j', String(availableParallelism())], {
            label: `compiling ${programs.join(', ')}`,
            logFile,
            env,
            writesTo: build,
            progress: (line) => /\[(\d+\/\d+)\]/.exec(line)?.[1]?.replace(/^/, 'step '),
            hint,
          });
          mkdirSync(out, { recursive: true });
          for (const program of programs) {
            if (!existsSync(join(build, 'bin', program))) throw new WorkbenchError(`the llama.cpp build made no ${program}`, `read ${logFile}`);
            copyFileSync(join(build, 'bin', program), join(out, program));
          }
        }),
      );
    },
  };
}

/** make bench's tools: llama-bench (single stream) and llama-batched-bench (parallel sequences). */
export const BENCH_TOOLS = cmakeProgramsArtifact('llama-tools', ['llama-bench', 'llama-batched-bench']);
