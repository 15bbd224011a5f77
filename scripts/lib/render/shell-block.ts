/**
 * Our managed block in ~/.bashrc ($BASHRC for tests): only the lines between our markers are
 * ever touched, the file is backed up before our first change, and running twice leaves one
 * block. A ~/.bashrc that is a symlink (a dotfiles repo) is edited at its target and stays a
 * symlink; markers saved with CRLF line ends (a Windows editor on WSL) are still ours.
 */
import { copyFileSync, existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { WorkbenchError } from '../errors.ts';
import { writeFileAtomic, type WriteOutcome } from '../atomic-write.ts';

/** Begin and end lines of the block we own in ~/.bashrc. */
export const BASHRC_BEGIN = '# >>> llm-workbench >>>';
export const BASHRC_END = '# <<< llm-workbench <<<';

/** Returns the file's text with `block` in place of our old block (or appended). */
export function withManagedBlock(text: string, block: string, file: string): string {
  const lines = text.split('\n');
  const bare = lines.map((line) => line.replace(/\r$/, '').trimEnd());
  const begin = bare.indexOf(BASHRC_BEGIN);
  const end = bare.indexOf(BASHRC_END);
  if (begin === -1 && end === -1) {
    const separator = text === '' || text.endsWith('\n\n') || text.endsWith('\r\n\r\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
    return `${text}${separator}${block}`;
  }
  if (begin === -1 || end === -1 || end < begin || bare.indexOf(BASHRC_BEGIN, begin + 1) !== -1) {
    throw new WorkbenchError(
      `${file} has a damaged llm-workbench block (the "${BASHRC_BEGIN}" and "${BASHRC_END}" lines must appear once each, in that order)`,
      `remove the damaged block from ${file} by hand (a backup is at ${file}.llm-workbench.bak if we made one), then run again`,
    );
  }
  // Our block is always written with LF: bash reads a CR as part of the value.
  const blockLines = block.replace(/\n$/, '').split('\n');
  return [...lines.slice(0, begin), ...blockLines, ...lines.slice(end + 1)].join('\n');
}

/** The file to edit: the target of a symlink (which stays a symlink), else the file itself. */
export function editablePath(file: string): string {
  try {
    return lstatSync(file).isSymbolicLink() ? realpathSync(file) : file;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && existsSyncLink(file)) {
      throw new WorkbenchError(`${file} is a symlink to a file that does not exist`, `create its target or remove the link (ls -l ${file}), then run again`);
    }
    return file;
  }
}

function existsSyncLink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** What installManagedBlock would do. */
export function managedBlockChange(file: string, block: string): WriteOutcome {
  const target = editablePath(file);
  if (!existsSync(target)) return 'created';
  const text = readFileSync(target, 'utf8');
  return withManagedBlock(text, block, file) === text ? 'unchanged' : 'replaced';
}

export function installManagedBlock(file: string, block: string): { outcome: WriteOutcome; backup?: string; target: string } {
  const target = editablePath(file);
  const exists = existsSync(target);
  const text = exists ? readFileSync(target, 'utf8') : '';
  const updated = withManagedBlock(text, block, file);
  if (exists && updated === text) return { outcome: 'unchanged', target };
  const backup = `${file}.llm-workbench.bak`;
  let made: string | undefined;
  try {
    if (exists && !existsSync(backup)) {
      copyFileSync(target, backup);
      made = backup;
    }
    writeFileAtomic(target, updated, exists ? statSync(target).mode & 0o777 : 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPERM' || code === 'EACCES' || code === 'EROFS') {
      throw new WorkbenchError(
        `cannot write ${target}${target !== file ? ` (the target of ${file})` : ''}: ${code === 'EROFS' ? 'read-only file system' : 'permission denied'}`,
        `make it writable (ls -l ${target}; lsattr ${target} shows an immutable "i" flag, chattr -i removes it), or set BASHRC to another file; nothing else was changed`,
        { cause: error },
      );
    }
    throw error;
  }
  return { outcome: exists ? 'replaced' : 'created', ...(made ? { backup: made } : {}), target };
}
