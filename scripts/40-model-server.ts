#!/usr/bin/env -S npx tsx
/**
 * Step 40: the model server of the profile's runtime and backend, ready when /v1/models lists
 * every alias; the server of a runtime the profile no longer uses is stopped first.
 */
import { recordServing, runtimeFor, stopFormerServers } from './lib/runtime/index.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { isMain, runStepMain, withSpinner, type Step } from './lib/step.ts';

export const modelServerStep: Step = {
  name: '40-model-server',
  preview: (plan) => runtimeFor(plan).preview(plan),
  async run(plan) {
    ensureStateDir(plan);
    // A profile that switched runtime: its old server goes first, so the port is ours to take.
    const stopped = await stopFormerServers(plan);
    for (const line of stopped) console.log(`  ${line}`);
    const result = await withSpinner(`model server on ${plan.server.host}:${plan.server.port}`, () => runtimeFor(plan).start(plan));
    // Written whatever the outcome: a server started before these records existed gets one too.
    await recordServing(plan);
    if (stopped.length && result.outcome === 'created') return { ...result, outcome: 'replaced', detail: `${result.detail}; ${stopped.join('; ')}` };
    return stopped.length ? { ...result, detail: `${result.detail}; ${stopped.join('; ')}` } : result;
  },
};

if (isMain(import.meta.url)) await runStepMain(modelServerStep);
