/**
 * Steps: check, act, verify, and report one line (`created | unchanged | replaced`, seconds).
 * `runMain` is the one error boundary: it prints message and hint (stack with DEBUG=1) and sets
 * the exit code; nothing else in the project calls process.exit.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatError } from './errors.ts';
import type { Plan } from './profile/plan.ts';
import { planFor } from './profile/index.ts';
import { withProfileLock } from './state/lock.ts';

export type Outcome = 'created' | 'unchanged' | 'replaced' | 'removed' | 'skipped';

export interface StepResult {
  outcome: Outcome;
  /** What was done or found, in a few words: a path, a URL, a count. */
  detail?: string;
}

export interface Step {
  /** `20-python-env`: the script's name, which gives its place in the order. */
  name: string;
  /** Only looks (doctor, smoke checks): runs without the profile lock, beside other commands. */
  readOnly?: boolean;
  run(plan: Plan): Promise<StepResult>;
}

export interface StepReport extends StepResult {
  step: string;
  seconds: number;
}

const NAME_WIDTH = 18;

export async function runStep(step: Step, plan: Plan): Promise<StepReport> {
  const started = performance.now();
  try {
    const result = await step.run(plan);
    const seconds = (performance.now() - started) / 1000;
    console.log(formatStepLine(step.name, result.outcome, seconds, result.detail));
    return { step: step.name, seconds, ...result };
  } catch (error) {
    console.log(formatStepLine(step.name, 'failed', (performance.now() - started) / 1000));
    throw error;
  }
}

export function formatStepLine(name: string, outcome: string, seconds: number, detail?: string): string {
  return `${name.padEnd(NAME_WIDTH)} ${outcome.padEnd(9)} ${seconds.toFixed(1).padStart(6)}s${detail ? `  ${detail}` : ''}`;
}

/** Runs `main` and turns any error into a message, a hint and a non-zero exit code. */
export async function runMain(main: () => Promise<void | number>): Promise<void> {
  try {
    const code = await main();
    if (typeof code === 'number') process.exitCode = code;
  } catch (error) {
    console.error(formatError(error, process.env.DEBUG === '1'));
    process.exitCode = 1;
  }
}

/** True when the module at `url` is the script node was asked to run. */
export function isMain(url: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}

/** What a step script does when run alone: plan for $PROFILE, run the one step under the profile lock. */
export function runStepMain(step: Step): Promise<void> {
  return runMain(async () => {
    const plan = planFor();
    if (step.readOnly) await runStep(step, plan);
    else await withProfileLock(plan, `make ${makeTarget(step.name)}`, () => runStep(step, plan));
  });
}

/** `40-model-server` -> `server`, as the user typed it. */
function makeTarget(stepName: string): string {
  const name = stepName.replace(/^\d+-/, '');
  return ({ 'model-server': 'server', preflight: 'doctor', smoke: 'smoke-test' } as Record<string, string>)[name] ?? name;
}
