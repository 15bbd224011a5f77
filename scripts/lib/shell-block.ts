/**
 * Our managed block in ~/.bashrc ($BASHRC for tests): only the lines between our markers are
 * ever touched, the file is backed up before our first change, and running twice leaves one block.
 */
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { WorkbenchError } from './errors.ts';
import { writeFileAtomic, type WriteOutcome } from './fs-atomic.ts';
import { BASHRC_BEGIN, BASHRC_END } from './render.ts';

/** Returns the file's text with `block` in place of our old block (or appended). */
export function withManagedBlock(text: string, block: string, file: string): string {
  const lines = text.split('\n');
  const begin = lines.indexOf(BASHRC_BEGIN);
  const end = lines.indexOf(BASHRC_END);
  if (begin === -1 && end === -1) {
    const separator = text === '' || text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
    return `${text}${separator}${block}`;
  }
  if (begin === -1 || end === -1 || end < begin || lines.indexOf(BASHRC_BEGIN, begin + 1) !== -1) {
    throw new WorkbenchError(
      `${file} has a damaged llm-workbench block (the "${BASHRC_BEGIN}" and "${BASHRC_END}" lines must appear once each, in that order)`,
      `remove the damaged block from ${file} by hand (a backup is at ${file}.llm-workbench.bak if we made one), then run again`,
    );
  }
  const blockLines = block.replace(/\n$/, '').split('\n');
  return [...lines.slice(0, begin), ...blockLines, ...lines.slice(end + 1)].join('\n');
}

export function installManagedBlock(file: string, block: string): { outcome: WriteOutcome; backup?: string } {
  const exists = existsSync(file);
  const text = exists ? readFileSync(file, 'utf8') : '';
  const updated = withManagedBlock(text, block, file);
  if (exists && updated === text) return { outcome: 'unchanged' };
  const backup = `${file}.llm-workbench.bak`;
  let made: string | undefined;
  if (exists && !existsSync(backup)) {
    copyFileSync(file, backup);
    made = backup;
  }
  writeFileAtomic(file, updated, exists ? statSync(file).mode & 0o777 : 0o644);
  return { outcome: exists ? 'replaced' : 'created', ...(made ? { backup: made } : {}) };
}
