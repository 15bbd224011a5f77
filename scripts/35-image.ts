#!/usr/bin/env -S npx tsx
/** Step 35 (container runtime only): the server image, built from build/<profile>/Dockerfile unless this exact context was built before. */
import { ensureImage, previewImage } from './lib/runtime/image.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';

export const imageStep: Step = {
  name: '35-image',
  preview: previewImage,
  async run(plan) {
    if (!plan.runtimeTraits.hasImageStep) return { outcome: 'skipped', detail: `runtime is ${plan.runtime}` };
    ensureStateDir(plan);
    return ensureImage(plan);
  },
};

if (isMain(import.meta.url)) await runStepMain(imageStep);
