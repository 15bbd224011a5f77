#!/usr/bin/env -S npx tsx
/**
 * Step 15: what the host compiles for its server, from the pinned llama.cpp source: llama-server,
 * or the llama-cpp-python wheel the Python env installs. Cached by version, flags and patch, so
 * it compiles once per machine. A container profile compiles in its image instead (step 35).
 */
import { basename } from 'node:path';
import { backendFor } from './lib/backend/index.ts';
import { displayPath } from './lib/errors.ts';
import { RPC_SERVER_BUILD } from './lib/rpc/workers.ts';
import { updateLock } from './lib/state/lock-file.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';

export const serverBuildStep: Step = {
  name: '15-server-build',
  async preview(plan) {
    if (!plan.runtimeTraits.buildsOnHost) return { action: 'skip', why: `runtime is ${plan.runtime}: the image compiles it` };
    const build = backendFor(plan).hostBuild;
    if (plan.distributed && !RPC_SERVER_BUILD.cached(plan)) return { action: 'create', why: `compiles ${RPC_SERVER_BUILD.what} (RPC workers) from the same llama.cpp tree` };
    return build.cached(plan)
      ? { action: 'keep', why: `${build.what} in ${displayPath(build.dir(plan))}` }
      : { action: 'create', why: `compiles ${build.what} from llama-cpp-python ${plan.llamaCpp.version}'s llama.cpp (minutes, once)` };
  },
  async run(plan) {
    if (!plan.runtimeTraits.buildsOnHost) return { outcome: 'skipped', detail: `runtime is ${plan.runtime}: the image compiles it` };
    ensureStateDir(plan);
    const build = backendFor(plan).hostBuild;
    const { built } = await build.ensure(plan);
    // A profile spread over RPC workers: the worker's program too (the same tree, seconds), so a
    // machine of the profile can serve as a worker without compiling or fetching anything more.
    const worker = plan.distributed ? await RPC_SERVER_BUILD.ensure(plan) : { built: false };
    // The lock names the source the build came from (sdist sha256, llama.cpp commit) and what was built.
    const source = build.info(plan);
    const { accelerator } = plan;
    const info = source && {
      ...source,
      build: { accelerator: accelerator.name, ...(accelerator.toolchainKey ? { toolchain: accelerator.toolchainKey } : {}), key: basename(build.dir(plan)) },
    };
    if (info) updateLock(plan.paths.lockFile, (lock) => void (lock.llamaCpp = info));
    const workerNote = plan.distributed ? `; ${RPC_SERVER_BUILD.what} for make rpc-worker` : '';
    return { outcome: built || worker.built ? 'created' : 'unchanged', detail: `${build.what} ${displayPath(build.dir(plan))}${info ? ` (llama.cpp ${info.llamaCppCommit.slice(0, 12)})` : ''}${workerNote}` };
  },
};

if (isMain(import.meta.url)) await runStepMain(serverBuildStep);
