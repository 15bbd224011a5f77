/** Writes that never leave a half-written file: a temp file beside the target, then rename. */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type WriteOutcome = 'created' | 'unchanged' | 'replaced';

export function writeFileAtomic(file: string, content: string | Buffer, mode?: number): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(temp, content, mode === undefined ? undefined : { mode });
    if (mode !== undefined) chmodSync(temp, mode);
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
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
