import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSteps, type Step } from '../../scripts/lib/step.ts';
import type { Plan } from '../../scripts/lib/plan/index.ts';
import type { Outcome } from '../../scripts/lib/outcome.ts';

/** A plan stand-in: the steps only pass it on, and say which one they were handed. */
const planNumber = (n: number) => ({ profile: { name: `plan ${n}` } }) as unknown as Plan;

function stepsDoing(outcomes: Outcome[], seen: string[]): Step[] {
  return outcomes.map((outcome, i) => ({
    name: `${String(i).padStart(2, '0')}-step`,
    preview: async () => ({ action: 'keep', why: '' }),
    run: async (plan) => {
      seen.push(plan.profile.name);
      return { outcome, detail: '' };
    },
  }));
}

describe("make provision's loop", () => {
  it('resolves the plan once when every step is unchanged, and hands that one plan to each step', async (t) => {
    t.mock.method(console, 'log', () => {});
    let resolutions = 1;
    const seen: string[] = [];
    const reports = await runSteps(stepsDoing(['unchanged', 'unchanged', 'skipped', 'unchanged'], seen), planNumber(1), () => planNumber(++resolutions));
    assert.equal(resolutions, 1);
    assert.deepEqual(seen, ['plan 1', 'plan 1', 'plan 1', 'plan 1']);
    assert.deepEqual(reports.map((r) => r.outcome), ['unchanged', 'unchanged', 'skipped', 'unchanged']);
  });

  it('resolves it again after a step that created or replaced something, and the steps after it get the new one', async (t) => {
    t.mock.method(console, 'log', () => {});
    let resolutions = 1;
    const seen: string[] = [];
    await runSteps(stepsDoing(['unchanged', 'created', 'unchanged', 'replaced', 'unchanged'], seen), planNumber(1), () => planNumber(++resolutions));
    assert.equal(resolutions, 3);
    assert.deepEqual(seen, ['plan 1', 'plan 1', 'plan 2', 'plan 2', 'plan 3']);
  });
});
