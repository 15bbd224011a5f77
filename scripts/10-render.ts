#!/usr/bin/env -S npx tsx
/** Step 10: render the profile's Dockerfile, environment.yml, bashrc block, compose.yaml and kube.yaml into build/<profile>/. */
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
    const chat = plan.model.chatFormat ? ` --chat_format ${plan.model.chatFormat}` : '';
    console.log(
      plan.server.backend === 'llama-server'
        ? `  llama-server from llama-cpp-python ${plan.llamaCpp.version}'s llama.cpp; --embeddings --pooling ${plan.model.pooling}, ${plan.server.parallel} slots`
        : `  llama-cpp-python==${plan.llamaCpp.version}, CMAKE_ARGS=${plan.llamaCpp.cmakeArgs}; server --embedding true --pooling ${plan.model.pooling}${chat}`,
    );
    if (plan.models.length > 1) console.log(`  ${plan.models.length} models: ${plan.models.map((m) => m.alias).join(', ')}`);
    const removed = result.removed.length ? `; removed ${result.removed.join(', ')}` : '';
    return { outcome: result.outcome, detail: `${displayPath(plan.paths.buildDir)}/ (${result.files.map((f) => f.path).join(', ')}${removed})` };
  },
};

if (isMain(import.meta.url)) await runStepMain(renderStep);
