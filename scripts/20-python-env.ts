#!/usr/bin/env -S npx tsx
/** Step 20: the Python env (conda from environment.yml, or a venv): JupyterLab, openai, and llama-cpp-python from our wheel cache where it serves natively. */
import { ensurePythonEnv, previewPythonEnv } from './lib/python-env/index.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';

export const pythonEnvStep: Step = {
  name: '20-python-env',
  preview: previewPythonEnv,
  async run(plan) {
    ensureStateDir(plan);
    const { outcome, env, compiled } = await ensurePythonEnv(plan);
    const built = plan.python.builtHere ? `, ${plan.python.builtHere.requirement}${compiled ? ' compiled' : ' from the wheel cache'}` : '';
    return { outcome, detail: `${env.manager} ${env.prefix} (python ${env.pythonVersion}${built})` };
  },
};

if (isMain(import.meta.url)) await runStepMain(pythonEnvStep);
