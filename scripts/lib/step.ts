/**
 * Steps: check, act, verify, and report one line (`created | unchanged | replaced`, seconds).
 * `runMain` is the one error boundary: it prints message and hint (stack with DEBUG=1) and sets
 * the exit code; nothing else in the project calls process.exit.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { argv, spinner } from 'zx';
import { formatError } from './errors.ts';
import type { Preview, StepResult } from './outcome.ts';
import { planFor, profileName, REPO_ROOT } from './profile/index.ts';
import { resolveModelSources } from './profile/model-sources.ts';
import { withProfileLock } from './state/lock.ts';
import type { Plan } from './plan/index.ts';

export type { Outcome, Preview, StepResult } from './outcome.ts';

export interface Step {
  /** `20-python-env`: the script's name, which gives its place in the order. */
  name: string;
  /** Only looks (doctor, smoke checks): runs without the profile lock, beside other commands. */
  readOnly?: boolean;
  /** Cannot run without every hf: model looked up (its file, commit, sha256): the model step. */
  needsModelsResolved?: boolean;
  /** What `run` would do and why, changing nothing (`make plan`, `--dry-run`). */
  preview(plan: Plan): Promise<Preview>;
  run(plan: Plan, context?: StepContext): Promise<StepResult>;
}

/** What a step run inside `make provision` knows: what the steps before it did. */
export interface StepContext {
  earlier: StepReport[];
}

export interface StepReport extends StepResult {
  step: string;
  seconds: number;
}

const NAME_WIDTH = 18;

export async function runStep(step: Pick<Step, 'name' | 'run'>, plan: Plan, context?: StepContext): Promise<StepReport> {
  const started = performance.now();
  try {
    const result = await step.run(plan, context);
    const seconds = (performance.now() - started) / 1000;
    console.log(formatStepLine(step.name, result.outcome, seconds, result.detail));
    return { step: step.name, seconds, ...result };
  } catch (error) {
    console.log(formatStepLine(step.name, 'failed', (performance.now() - started) / 1000));
    throw error;
  }
}

/**
 * `make provision`'s loop: one plan, handed to each step in order. A step that changed the machine
 * (created or replaced something) may have changed what the plan is made of (the env's python
 * once step 20 made a conda env; a model's sha256 and chat template once step 30 fetched it), so
 * the plan is resolved again after it, and only then: an unchanged stack is planned once.
 */
export async function runSteps(steps: readonly Step[], plan: Plan, replan: () => Plan): Promise<StepReport[]> {
  const done: StepReport[] = [];
  let current = plan;
  for (const step of steps) {
    const report = await runStep(step, current, { earlier: [...done] });
    done.push(report);
    if (report.outcome === 'created' || report.outcome === 'replaced') current = replan();
  }
  return done;
}

export function formatStepLine(name: string, outcome: string, seconds: number, detail?: string): string {
  return `${name.padEnd(NAME_WIDTH)} ${outcome.padEnd(9)} ${seconds.toFixed(1).padStart(6)}s${detail ? `  ${detail}` : ''}`;
}

/**
 * zx's spinner while a service starts, on a terminal only: in a log (CI, a pipe) it would be
 * noise, and the step line says everything once it is done.
 */
export async function withSpinner<T>(title: string, fn: () => Promise<T>): Promise<T> {
  return process.stderr.isTTY ? spinner(`starting the ${title}`, fn) : fn();
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

const VERBS: Record<Preview['action'], string> = { create: 'would create', keep: 'unchanged', replace: 'would replace', run: 'would run', skip: 'skipped' };

/** `40-model-server    would replace  (--n_ctx 2048 -> 1024)`: one line of `make plan`. */
export function formatPreviewLine(name: string, preview: Preview): string {
  return `${name.padEnd(NAME_WIDTH)} ${VERBS[preview.action].padEnd(14)} (${preview.why})`;
}

/** Parses the lines formatPreviewLine prints: step name -> action. */
export function parsePreviewLines(text: string): Map<string, Preview['action']> {
  const actions = new Map<string, Preview['action']>();
  const byVerb = Object.fromEntries(Object.entries(VERBS).map(([action, verb]) => [verb, action])) as Record<string, Preview['action']>;
  for (const match of text.matchAll(/^(\d\d-[a-z-]+)\s+(would create|unchanged|would replace|would run|skipped)\s+\(/gm)) {
    actions.set(match[1] as string, byVerb[match[2] as string] as Preview['action']);
  }
  return actions;
}

/**
 * What a step script does when run alone: plan for $PROFILE, run the one step under the profile
 * lock; with --dry-run (`make server DRY_RUN=1`), say what it would do and change nothing.
 */
export function runStepMain(step: Step): Promise<void> {
  return runMain(async () => {
    // A step run alone plans from the current profile: an hf: source not yet pinned is looked up (pinned unless --dry-run).
    const looked = await resolveModelSources(profileName(), { pin: !argv['dry-run'], required: step.needsModelsResolved === true && !argv['dry-run'] }, process.env, REPO_ROOT);
    const plan = planFor(profileName(), process.env, REPO_ROOT, looked);
    if (argv['dry-run']) console.log(formatPreviewLine(step.name, await step.preview(plan)));
    else if (step.readOnly) await runStep(step, plan);
    else await withProfileLock(plan, `make ${makeTarget(step.name)}`, () => runStep(step, plan));
  });
}

/** `40-model-server` -> `server`, as the user typed it. */
function makeTarget(stepName: string): string {
  const name = stepName.replace(/^\d+-/, '');
  return ({ 'model-server': 'server', preflight: 'doctor', smoke: 'smoke-test' } as Record<string, string>)[name] ?? name;
}
