#!/usr/bin/env -S npx tsx
/** Step 20: the Python env (conda from environment.yml, or a venv), llama-cpp-python from the wheel cache. */
import { needsLlamaServer } from './lib/llama-cpp/host-build.ts';
import { ensurePythonEnv, previewPythonEnv } from './lib/llama-cpp/python-env.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';

export const pythonEnvStep: Step = {
  name: '20-python-env',
  preview: previewPythonEnv,
  async run(plan) {
    ensureStateDir(plan);
    const { outcome, env, builtWheel } = await ensurePythonEnv(plan);
    const llama = plan.llamaCpp.onHost
      ? builtWheel ? 'llama.cpp compiled' : 'cached llama.cpp wheel'
      : needsLlamaServer(plan)
        ? builtWheel ? 'llama-server built' : 'cached llama-server build'
        : 'no llama.cpp on the host: the image serves';
    return { outcome, detail: `${env.manager} ${env.prefix} (python ${env.pythonVersion}, ${llama})` };
  },
};

if (isMain(import.meta.url)) await runStepMain(pythonEnvStep);
