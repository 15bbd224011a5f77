#!/usr/bin/env -S npx tsx
/** `make down`: stops what provision started (by recorded pid or container name), nothing else. */
import { stopJupyter } from './lib/jupyter/jupyter.ts';
import { planFor } from './lib/profile/index.ts';
import { runtimeFor, stopFormerServers } from './lib/runtime/index.ts';
import { withProfileLock } from './lib/state/lock.ts';
import { runMain } from './lib/step.ts';
import { stopWorker } from './lib/rpc/worker-service.ts';

export async function down(): Promise<string[]> {
  const plan = planFor();
  return withProfileLock(plan, 'make down', async () => {
    const stopped: string[] = [];
    // Reverse order of start-up: JupyterLab, then the model server.
    if (await stopJupyter(plan)) stopped.push('jupyterlab');
    if (await runtimeFor(plan).stop(plan)) stopped.push('model-server');
    // One the profile started under its former runtime is ours too.
    if ((await stopFormerServers(plan)).length) stopped.push(`model-server (the former runtime's)`);
    // This machine as an RPC worker (make rpc-worker), after the server that may use it.
    if (await stopWorker(plan)) stopped.push('rpc-worker');
    return stopped;
  });
}

await runMain(async () => {
  const stopped = await down();
  console.log(stopped.length ? `stopped ${stopped.join(' and ')}` : 'nothing was running');
});
