#!/usr/bin/env -S npx tsx
/** Step 50: JupyterLab from the same env, with a random token and the guide's notebook. */
import { startJupyter } from './lib/jupyter/jupyter.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';

export const jupyterStep: Step = {
  name: '50-jupyter',
  async run(plan) {
    ensureStateDir(plan);
    return startJupyter(plan);
  },
};

if (isMain(import.meta.url)) await runStepMain(jupyterStep);
