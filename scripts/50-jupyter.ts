#!/usr/bin/env -S npx tsx
/** Step 50: JupyterLab from the same env, with a random token and the guide's notebook. */
import { previewJupyter, startJupyter } from './lib/jupyter/jupyter.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { isMain, runStepMain, withSpinner, type Step } from './lib/step.ts';

export const jupyterStep: Step = {
  name: '50-jupyter',
  preview: previewJupyter,
  async run(plan) {
    ensureStateDir(plan);
    return withSpinner(`JupyterLab on ${plan.jupyter.host}:${plan.jupyter.port}`, () => startJupyter(plan));
  },
};

if (isMain(import.meta.url)) await runStepMain(jupyterStep);
