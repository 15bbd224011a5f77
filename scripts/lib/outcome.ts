/**
 * What a step did (`created | unchanged | replaced ...`) and what it would do (a preview, for
 * `make plan` and `--dry-run`). The two line up one to one, and a test holds them to it.
 */
export type Outcome = 'created' | 'unchanged' | 'replaced' | 'removed' | 'skipped';

export interface StepResult {
  outcome: Outcome;
  /** What was done or found, in a few words: a path, a URL, a count. */
  detail?: string;
}

/** `run`: a step that always runs and changes nothing (checks); its outcome is `unchanged`. */
export type Action = 'create' | 'keep' | 'replace' | 'run' | 'skip';

export interface Preview {
  action: Action;
  /** Why, in a few words: what changed, what is missing. */
  why: string;
}

/** The outcome a preview promises. */
export function expectedOutcome(action: Action): Outcome {
  return ({ create: 'created', keep: 'unchanged', replace: 'replaced', run: 'unchanged', skip: 'skipped' } as const)[action];
}
