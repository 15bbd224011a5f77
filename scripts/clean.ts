#!/usr/bin/env -S npx tsx
/**
 * `make clean [MODELS=1] [BUILDS=1]`: stop, then remove the profile's state and build output; with
 * MODELS=1 the cached models too; with BUILDS=1 everything compiled for any profile (llama.cpp's
 * programs, build trees, wheels, ccache, build venvs): the next provision compiles again.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stopJupyter } from './lib/jupyter/jupyter.ts';
import { transportDownloadDirs } from './lib/model/transport/index.ts';
import { planFor } from './lib/profile/index.ts';
import { WorkbenchError } from './lib/errors.ts';
import { runningServers, runtimeFor } from './lib/runtime/index.ts';
import { describeServing, stateRootOf } from './lib/state/serving.ts';
import { withProfileLock } from './lib/state/lock.ts';
import { runMain } from './lib/step.ts';
import { stopWorker } from './lib/rpc/worker-service.ts';

await runMain(async () => {
  const plan = planFor();
  if (process.env.MODELS === '1') {
    // Servers of other profiles, other checkouts and deleted profiles serve from the same cache.
    const others = (await runningServers(stateRootOf(plan.paths.stateDir))).filter((r) => r.profile !== plan.profile.name && r.models.some((m) => m.path.startsWith(`${plan.paths.modelsDir}/`)));
    if (others.length) {
      throw new WorkbenchError(
        `make clean MODELS=1 would remove models that running servers serve: ${others.map(describeServing).join(' and ')}`,
        `${others.map((r) => `make down PROFILE=${r.profile}`).join(', ')} first (from the checkout that started it, if it is another), or make clean without MODELS=1`,
      );
    }
  }
  await withProfileLock(plan, 'make clean', async () => {
    await stopJupyter(plan);
    await runtimeFor(plan).stop(plan);
    // Its record goes with the state folder: a worker left running could no longer be stopped by make down.
    await stopWorker(plan);
  });
  rmSync(plan.paths.stateDir, { recursive: true, force: true });
  rmSync(plan.paths.buildDir, { recursive: true, force: true });
  console.log(`removed ${plan.paths.stateDir} and ${plan.paths.buildDir}`);
  if (process.env.MODELS === '1') {
    rmSync(plan.paths.modelsDir, { recursive: true, force: true });
    console.log(`removed cached models in ${plan.paths.modelsDir}`);
  } else {
    console.log(`kept cached models in ${plan.paths.modelsDir} (MODELS=1 removes them) and the Python env ${plan.python.venvDir}`);
  }
  const models = new Set([plan.paths.modelsDir, ...transportDownloadDirs(plan.paths.cacheDir)]);
  const builds = existsSync(plan.paths.cacheDir) ? readdirSync(plan.paths.cacheDir).map((entry) => join(plan.paths.cacheDir, entry)).filter((path) => !models.has(path)) : [];
  if (process.env.BUILDS === '1') {
    for (const path of builds) rmSync(path, { recursive: true, force: true });
    console.log(`removed what was compiled in ${plan.paths.cacheDir} (${builds.length} folders; the models stay)`);
  } else if (builds.length) {
    console.log(`kept compiled builds in ${plan.paths.cacheDir} (BUILDS=1 removes them)`);
  }
});
