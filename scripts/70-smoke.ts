#!/usr/bin/env -S npx tsx
/** Step 70 (also `make smoke-test`): every OpenAI endpoint with the official client, and JupyterLab. */
import { join } from 'node:path';
import { runChecks, writeJunit, writeReport } from '../checks/report.ts';
import { smokeChecks } from '../checks/smoke.ts';
import { displayPath, WorkbenchError } from './lib/errors.ts';
import { runtimeFor } from './lib/runtime/index.ts';
import { isMain, runStepMain, type Step } from './lib/step.ts';

/**
 * Which checks run: `all` (the default), or `guide`, what the guide's notebook calls (models,
 * completions, chat, embeddings, streaming, errors, JupyterLab): for a device so slow that tools
 * and structured output would take minutes (a CPU Vulkan device, a 7B model on a laptop).
 */
export function checkScope(value: string | undefined): 'all' | 'guide' {
  if (value === undefined || value === '' || value === 'all') return 'all';
  if (value === 'guide') return 'guide';
  throw new WorkbenchError(`CHECKS=${value} is not a set of smoke checks`, 'use CHECKS=all (every check, the default) or CHECKS=guide (the endpoints the guide calls)');
}

export const smokeStep: Step = {
  name: '70-smoke',
  readOnly: true,
  async preview() {
    return { action: 'run', why: 'calls every OpenAI endpoint, JupyterLab and the guide notebook' };
  },
  async run(plan, context) {
    // A provision that changed nothing verifies the endpoints only (seconds); the guide notebook,
    // which needs a fresh kernel, runs whenever something changed and in make smoke-test.
    const quick = context !== undefined && context.earlier.every((r) => r.outcome === 'unchanged' || r.outcome === 'skipped');
    const scope = checkScope(process.env.CHECKS);
    const outcomes = await runChecks(smokeChecks(plan, { notebook: !quick, conformance: scope === 'all' }), (line) => console.log(`  ${line}`));
    const report = join(plan.paths.buildDir, 'smoke.json');
    const at = new Date().toISOString();
    writeReport(report, { profile: plan.profile.name, baseUrl: plan.server.baseUrl, at, checks: outcomes });
    // The same report for another CI to read (GitLab, Jenkins, GitHub's test reporters).
    writeJunit(join(plan.paths.buildDir, 'smoke.junit.xml'), `llm-workbench smoke (${plan.profile.name}, ${plan.server.baseUrl})`, outcomes, at);
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length) {
      throw new WorkbenchError(
        `smoke checks failed: ${failed.map((f) => f.name).join(', ')} (${failed[0]!.detail})`,
        `the report is ${displayPath(report)}; make logs shows the whole server log`,
        { details: `last lines of the model server log:\n${await runtimeFor(plan).logs(plan, 20)}` },
      );
    }
    const skipped = outcomes.filter((o) => o.skipped);
    const passed = outcomes.length - skipped.length;
    const why = [...new Set(skipped.map((o) => o.detail.split(':')[0]))].join('; ');
    const skips = skipped.length ? `, ${skipped.length} skipped (${skipped.map((o) => o.name).join(', ')}: ${why})` : '';
    const what = `${quick ? `${passed} endpoint checks passed${skips} (nothing changed, so not the notebook: make smoke-test runs it)` : `${passed} checks passed${skips}`}${scope === 'guide' ? " (CHECKS=guide: the guide's endpoints only)" : ''}`;
    return { outcome: 'unchanged', detail: `${what}; report ${displayPath(report)} (and smoke.junit.xml)` };
  },
};

if (isMain(import.meta.url)) await runStepMain(smokeStep);
