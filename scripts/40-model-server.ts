#!/usr/bin/env -S npx tsx
/** Step 40: the llama-cpp-python server, ready when /v1/models lists the alias. */
import { runtimeFor } from './lib/runtime/index.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';

export const modelServerStep: Step = {
  name: '40-model-server',
  async run(plan) {
    ensureStateDir(plan);
    return runtimeFor(plan).start(plan);
  },
};

if (isMain(import.meta.url)) await runStepMain(modelServerStep);
