import { relative } from 'node:path';

/**
 * The one error type of the project. Every failure a user can cause or fix is thrown as a
 * WorkbenchError with a message (what is wrong, naming the file, field or port) and a hint
 * (the fix). The top level (cli.ts) prints both; the stack only with DEBUG=1.
 */
export class WorkbenchError extends Error {
  readonly hint: string;
  /** Extra lines shown under the message, e.g. the tail of a server log. */
  readonly details: string | undefined;

  constructor(message: string, hint: string, options: { cause?: unknown; details?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WorkbenchError';
    this.hint = hint;
    this.details = options.details;
  }
}

export function isWorkbenchError(error: unknown): error is WorkbenchError {
  return error instanceof WorkbenchError;
}

/** What the operating system said, in words, and the fix, for the errno codes a user can cause. */
const SYSTEM_ERRORS: Record<string, { what: string; fix: (where: string) => string }> = {
  ENOSPC: { what: 'the disk is full (no space left on device)', fix: (where) => `free space on the file system of ${where} (df -h shows it), or point LLM_WORKBENCH_CACHE_DIR / LLM_WORKBENCH_DATA_DIR at a larger one, then run again` },
  EDQUOT: { what: 'the disk quota is exhausted', fix: (where) => `free space under your quota for ${where}, then run again` },
  EACCES: { what: 'permission denied', fix: (where) => `check the owner and mode of ${where} (ls -ld), or point LLM_WORKBENCH_STATE_DIR / LLM_WORKBENCH_CACHE_DIR / LLM_WORKBENCH_DATA_DIR at a folder you own` },
  EPERM: { what: 'operation not permitted', fix: (where) => `check ${where}: an immutable file (lsattr; chattr -i) or a folder owned by another user` },
  EROFS: { what: 'the file system is read-only', fix: (where) => `${where} is on a read-only file system: point the LLM_WORKBENCH_*_DIR variables at a writable folder` },
  EMFILE: { what: 'too many open files', fix: () => 'raise the limit (ulimit -n 4096) and run again' },
  ENFILE: { what: 'the system has too many open files', fix: () => 'close other programs or raise fs.file-max, then run again' },
  ENOENT: { what: 'no such file or directory', fix: (where) => `check that ${where} exists (a folder removed while this ran?), then run again` },
  ENOTDIR: { what: 'a part of the path is a file, not a folder', fix: (where) => `check the folders on the way to ${where}` },
  EISDIR: { what: 'it is a folder, not a file', fix: (where) => `check ${where}` },
};

/**
 * An error from the operating system (a write to a full disk, a folder we may not write) as a
 * WorkbenchError naming the path and the fix; undefined for anything else.
 */
export function systemError(error: unknown): WorkbenchError | undefined {
  const { code, path, dest, syscall } = (error ?? {}) as { code?: unknown; path?: unknown; dest?: unknown; syscall?: unknown };
  if (typeof code !== 'string') return undefined;
  const known = SYSTEM_ERRORS[code];
  if (!known) return undefined;
  // A write(2) on an open file carries no path: the fix then names the folders we write to.
  const where = typeof path === 'string' ? displayPath(path) : "a file (the cache, state or data folder: ~/.cache, ~/.local, or the LLM_WORKBENCH_*_DIR you set)";
  const also = typeof dest === 'string' ? ` -> ${displayPath(dest)}` : '';
  return new WorkbenchError(
    `cannot ${typeof syscall === 'string' ? `${syscall} ` : 'use '}${where}${also}: ${known.what} (${code})`,
    known.fix(where),
    { cause: error },
  );
}

/** Formats an error for a terminal: message, details, hint; the stack only when asked. */
export function formatError(error: unknown, showStack: boolean): string {
  error = isWorkbenchError(error) ? error : systemError(error) ?? error;
  if (isWorkbenchError(error)) {
    const lines = [`error: ${error.message}`];
    if (error.details) lines.push(error.details.replace(/\s+$/, ''));
    lines.push(`hint: ${error.hint}`);
    if (showStack && error.stack) lines.push(error.stack);
    if (showStack && error.cause instanceof Error && error.cause.stack) lines.push(`cause: ${error.cause.stack}`);
    return lines.join('\n');
  }
  const text = error instanceof Error ? (showStack ? error.stack ?? error.message : error.message) : String(error);
  return `error: ${text}\nhint: this is a bug in llm-workbench; run again with DEBUG=1 and report the stack.`;
}

/** A path as messages show it: relative to where the user stands when it is below, else absolute. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}
