/**
 * Writes that never leave a half-written file, through npm's write-file-atomic: a temp file
 * beside the target, fsync, then rename; a symlink is written at its target (the link stays a
 * link) and an existing file keeps its mode and owner unless a mode is given.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import writeFileAtomicLib from 'write-file-atomic';

export type WriteOutcome = 'created' | 'unchanged' | 'replaced';

export function writeFileAtomic(file: string, content: string | Buffer, mode?: number): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomicLib.sync(file, content, mode === undefined ? {} : { mode });
}

/** What writeIfChanged would do. */
export function wouldWrite(file: string, content: string): WriteOutcome {
  if (!existsSync(file)) return 'created';
  return readFileSync(file, 'utf8') === content ? 'unchanged' : 'replaced';
}

/** Writes only when the content differs, and says which happened. */
export function writeIfChanged(file: string, content: string, mode?: number): WriteOutcome {
  if (!existsSync(file)) {
    writeFileAtomic(file, content, mode);
    return 'created';
  }
  if (readFileSync(file, 'utf8') === content) {
    if (mode !== undefined) chmodSync(file, mode);
    return 'unchanged';
  }
  writeFileAtomic(file, content, mode);
  return 'replaced';
}

/** The outcome of several writes: unchanged if all were, created if all were new, else replaced. */
export function combineOutcomes(outcomes: readonly WriteOutcome[]): WriteOutcome {
  if (outcomes.every((o) => o === 'unchanged')) return 'unchanged';
  if (outcomes.every((o) => o === 'created')) return 'created';
  return 'replaced';
}
