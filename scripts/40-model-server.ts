#!/usr/bin/env -S npx tsx
/** Step 40: the llama-cpp-python server, ready when /v1/models lists the alias. */
import { runtimeFor } from './lib/runtime/index.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { isMain, runStepMain, withSpinner, type Step } from './lib/step.ts';

export const modelServerStep: Step = {
  name: '40-model-server',
  preview: (plan) => runtimeFor(plan).preview(plan),
  async run(plan) {
    ensureStateDir(plan);
    return withSpinner(`model server on ${plan.server.host}:${plan.server.port}`, () => runtimeFor(plan).start(plan));
  },
};

if (isMain(import.meta.url)) await runStepMain(modelServerStep);
