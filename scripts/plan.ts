#!/usr/bin/env -S npx tsx
/**
 * `make plan`: the fully resolved plan for $PROFILE, as JSON, before anything is done: every
 * path, version, flag and the exact server argv the steps would use. Nothing is changed.
 */
import { planFor } from './lib/profile/index.ts';
import { serverArgs } from './lib/llama-cpp/server-args.ts';
import { runMain } from './lib/step.ts';

await runMain(async () => {
  const plan = planFor();
  const server = serverArgs(plan, {
    modelPath: plan.runtime === 'native' ? plan.model.path : `${plan.container.modelDir}/${plan.model.fileName}`,
    bindHost: plan.runtime === 'native',
  });
  console.log(JSON.stringify({ ...plan, serverArgv: server }, null, 2));
});
