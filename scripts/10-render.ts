#!/usr/bin/env -S npx tsx
/** Step 10: render the profile's Dockerfile, environment.yml, bashrc block, compose.yaml and kube.yaml into build/<profile>/. */
import { backendFor } from './lib/backend/index.ts';
import { displayPath } from './lib/errors.ts';
import { previewRendered, renderProfile, writeRendered } from './lib/render/render.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';

export const renderStep: Step = {
  name: '10-render',
  async preview(plan) {
    return previewRendered(plan, renderProfile(plan));
  },
  async run(plan) {
    const result = writeRendered(plan, renderProfile(plan));
    // The facts the guide's Embeddings fix turns on, visible at a glance.
    console.log(`  ${backendFor(plan).summary(plan)}`);
    if (plan.models.length > 1) console.log(`  ${plan.models.length} models: ${plan.models.map((m) => m.alias).join(', ')}`);
    const removed = result.removed.length ? `; removed ${result.removed.join(', ')}` : '';
    return { outcome: result.outcome, detail: `${displayPath(plan.paths.buildDir)}/ (${result.files.map((f) => f.path).join(', ')}${removed})` };
  },
};

if (isMain(import.meta.url)) await runStepMain(renderStep);
