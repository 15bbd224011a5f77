#!/usr/bin/env -S npx tsx
/** Step 60: our managed block in ~/.bashrc ($BASHRC): env activation, OPENAI_BASE_URL, OPENAI_API_KEY. */
import { renderProfile } from './lib/render/render.ts';
import { installManagedBlock } from './lib/render/shell-block.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';

export const shellStep: Step = {
  name: '60-shell',
  async run(plan) {
    const block = renderProfile(plan).find((f) => f.path === 'bashrc.sh')!.content;
    const { outcome, backup, target } = installManagedBlock(plan.paths.bashrc, block);
    const via = target !== plan.paths.bashrc ? ` -> ${target}` : '';
    return { outcome, detail: `${plan.paths.bashrc}${via}${backup ? ` (backup: ${backup})` : ''}` };
  },
};

if (isMain(import.meta.url)) await runStepMain(shellStep);
