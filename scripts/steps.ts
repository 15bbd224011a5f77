/** The steps of `make provision`, in order: each a script of its own, runnable alone. */
import { preflightStep } from './00-preflight.ts';
import { renderStep } from './10-render.ts';
import { serverBuildStep } from './15-server-build.ts';
import { pythonEnvStep } from './20-python-env.ts';
import { modelStep } from './30-model.ts';
import { imageStep } from './35-image.ts';
import { modelServerStep } from './40-model-server.ts';
import { jupyterStep } from './50-jupyter.ts';
import { shellStep } from './60-shell.ts';
import { smokeStep } from './70-smoke.ts';
import type { Step } from './lib/step.ts';

export const STEPS: readonly Step[] = [preflightStep, renderStep, serverBuildStep, pythonEnvStep, modelStep, imageStep, modelServerStep, jupyterStep, shellStep, smokeStep];
