/**
 * The compiled llama-cpp-python wheel: PyPI ships only the sdist, so every install compiles
 * llama.cpp (minutes on 2 cores). We compile once per version and CMake flags into a wheel cache
 * and install from it ever after. The wheel is tagged py3-none-<platform> (it loads llama.cpp
 * with ctypes), so one build serves every Python 3 env on this machine, conda ones included.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertAcceleratorUsable } from '../../accelerator/choose.ts';
import { acceleratorNamed } from '../../accelerator/index.ts';
import { buildOnce, readBuildInfo, type BuildArtifact } from '../../llama-cpp/artifact.ts';
import { sha256Hex } from '../../fingerprint.ts';
import { unpackSdist } from '../../llama-cpp/sdist.ts';
import { applySourcePatches, WHEEL_PATCHES, patchKey } from '../../llama-cpp/source-patches.ts';
import { runLogged, which } from '../../process/run.ts';
import { statePaths } from '../../state/paths.ts';
import type { LlamaCppLock, Plan } from '../../plan/index.ts';

/**
 * Where a compiled llama-cpp-python wheel is cached: one folder per version and CMake flags
 * (and target: host or image), so a different BLAS choice never picks up a wheel built without it.
 */
export function wheelKey(plan: Pick<Plan, 'llamaCpp' | 'accelerator'>, target: 'native' | 'container'): string {
  // The BLAS flags and the accelerator's (the CPU adds none); a GPU build's toolkit (the host's, or
  // the image's own) is part of what it is, and the CPU's key stays what it was before accelerators.
  const args = plan.llamaCpp.hostCmakeArgs;
  const toolchain = plan.accelerator.toolchainKey ? `\n${plan.accelerator.toolchainKey}` : '';
  // The engine's patches are part of what it is (a wheel without them serves no reproducible answers).
  const patches = WHEEL_PATCHES.length ? `\n${WHEEL_PATCHES.map(patchKey).join(' ')}` : '';
  const digest = sha256Hex(`${args}\n${target}${toolchain}${patches}`).slice(0, 12);
  return `llama-cpp-python-${plan.llamaCpp.version}-${digest}`;
}

export function wheelDir(plan: Pick<Plan, 'llamaCpp' | 'paths' | 'accelerator'>): string {
  return join(plan.paths.wheelsDir, wheelKey(plan, 'native'));
}

function wheelIn(dir: string, version: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const prefix = `llama_cpp_python-${version}-`;
  const wheel = readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
  return wheel ? join(dir, wheel) : undefined;
}

export function cachedWheel(plan: Plan): string | undefined {
  return wheelIn(wheelDir(plan), plan.llamaCpp.version);
}

/** Where the cached wheel came from (recorded when it was built), for the lock file. */
export function wheelBuildInfo(plan: Plan): LlamaCppLock | undefined {
  return readBuildInfo(wheelDir(plan));
}

/** The compile's real prerequisites, named by what is missing rather than guessed. */
function compileHint(): string {
  const missing = ['cc', 'c++', 'make'].filter((tool) => !which(tool));
  return missing.length
    ? `no ${missing.join(', ')} on PATH: install a C/C++ compiler (Debian/Ubuntu: sudo apt-get install build-essential), then run again`
    : 'the compiler is there: the last lines of the build log above say what failed (PyPI unreachable, out of memory or disk)';
}

export const WHEEL_BUILD: BuildArtifact = {
  what: 'llama-cpp-python wheel',
  dir: wheelDir,
  cached: (plan) => cachedWheel(plan) !== undefined,
  info: wheelBuildInfo,
  ensure: (plan) => {
    assertAcceleratorUsable(plan.accelerator, plan.profile.name);
    return buildOnce(plan, wheelDir(plan), (dir) => wheelIn(dir, plan.llamaCpp.version) !== undefined, async ({ python, sdist, info, work, out }) => {
      const logFile = statePaths(plan).buildLog;
      const toolchain = await acceleratorNamed(plan.accelerator.name).buildToolchain(plan, { python, logFile });
      // Unpacked and patched (the engine's patches: source-patches.ts), then built from the folder.
      const { packageDir, llamaCppDir } = await unpackSdist(plan, { python, sdist, dest: join(work, 'src'), logFile, hint: compileHint() });
      for (const id of applySourcePatches(llamaCppDir, WHEEL_PATCHES)) console.log(`  (the llama.cpp patch ${id} does not apply to this llama.cpp: built without it)`);
      console.log(`  compiling llama-cpp-python ${plan.llamaCpp.version} (llama.cpp ${info.llamaCppCommit.slice(0, 12)}, CMAKE_ARGS=${plan.llamaCpp.hostCmakeArgs || '(none)'}); a few minutes on 2 cores, once`);
      await runLogged([python, '-m', 'pip', 'wheel', '--verbose', '--disable-pip-version-check', '--no-deps', '--no-cache-dir', '--wheel-dir', out, packageDir], {
        label: 'compiling llama.cpp',
        logFile,
        // No ccache: pip compiles in a temporary folder of a new name each time, so nothing it
        // cached would ever be found again (llama.cpp's CMake would use it if the machine has it).
        env: {
          ...process.env,
          ...toolchain.env,
          CMAKE_ARGS: [plan.llamaCpp.hostCmakeArgs, ...toolchain.configureArgs].filter(Boolean).join(' '),
          CMAKE_BUILD_PARALLEL_LEVEL: process.env.CMAKE_BUILD_PARALLEL_LEVEL,
          CCACHE_DISABLE: '1',
        },
        progress: (line) => /\[(\d+\/\d+)\]/.exec(line)?.[1]?.replace(/^/, 'step '),
        hint: compileHint(),
      });
    });
  },
};
