#!/usr/bin/env -S npx tsx
/** Step 60: our managed block in ~/.bashrc ($BASHRC): env activation, OPENAI_BASE_URL, OPENAI_API_KEY. */
import { renderProfile } from './lib/render/render.ts';
import { installManagedBlock, managedBlockChange } from './lib/render/shell-block.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';
import type { Plan } from './lib/plan/index.ts';

function block(plan: Plan): string {
  return renderProfile(plan).find((f) => f.path === 'bashrc.sh')!.content;
}

export const shellStep: Step = {
  name: '60-shell',
  async preview(plan) {
    const change = managedBlockChange(plan.paths.bashrc, block(plan));
    return change === 'unchanged'
      ? { action: 'keep', why: `the block in ${plan.paths.bashrc} is current` }
      : { action: change === 'created' ? 'create' : 'replace', why: `the llm-workbench block in ${plan.paths.bashrc}` };
  },
  async run(plan) {
    const { outcome, backup, target } = installManagedBlock(plan.paths.bashrc, block(plan));
    const via = target !== plan.paths.bashrc ? ` -> ${target}` : '';
    return { outcome, detail: `${plan.paths.bashrc}${via}${backup ? ` (backup: ${backup})` : ''}` };
  },
};

if (isMain(import.meta.url)) await runStepMain(shellStep);
