#!/usr/bin/env -S npx tsx
/** Step 00 (also `make doctor`): is this machine ready for the profile? Each finding with its fix. */
import { WorkbenchError } from './lib/errors.ts';
import { formatFinding, preflight } from './lib/doctor/preflight.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';

export const preflightStep: Step = {
  name: '00-preflight',
  readOnly: true,
  async preview() {
    return { action: 'run', why: 'checks this machine: tools, disk, memory, ports' };
  },
  async run(plan) {
    const findings = await preflight(plan);
    const failed = findings.filter((f) => f.status === 'fail');
    const shown = process.env.LLM_WORKBENCH_VERBOSE === '1' || isMain(import.meta.url) ? findings : findings.filter((f) => f.status !== 'ok' && f.status !== 'info');
    for (const finding of shown) console.log(formatFinding(finding));
    if (failed.length) {
      throw new WorkbenchError(
        `this machine is not ready for profile "${plan.profile.name}": ${failed.map((f) => `${f.check} (${f.detail})`).join('; ')}`,
        failed.map((f) => f.fix).filter(Boolean).join('; '),
      );
    }
    return { outcome: 'unchanged', detail: `${findings.length} checks, ${findings.filter((f) => f.status === 'warn').length} warnings` };
  },
};

if (isMain(import.meta.url)) await runStepMain(preflightStep);
