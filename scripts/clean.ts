#!/usr/bin/env -S npx tsx
/** `make clean [MODELS=1]`: stop, then remove the profile's state and build output (and cached models). */
import { rmSync } from 'node:fs';
import { stopJupyter } from './lib/jupyter/jupyter.ts';
import { planFor } from './lib/profile/index.ts';
import { runtimeFor } from './lib/runtime/index.ts';
import { withProfileLock } from './lib/state/lock.ts';
import { runMain } from './lib/step.ts';

await runMain(async () => {
  const plan = planFor();
  await withProfileLock(plan, 'make clean', async () => {
    await stopJupyter(plan);
    await runtimeFor(plan).stop(plan);
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
});
