/**
 * A disk that fills wherever we write (a download, an extraction, a compile, a venv, an image),
 * named as such: the folder, the space needed and the space left, and what half-written thing was
 * removed (a truncated file left in the cache would be trusted by the next run).
 */
import { statfsSync } from 'node:fs';
import { displayPath, WorkbenchError } from './errors.ts';

const MB = 1024 * 1024;

/** True for an ENOSPC error, or for a program's output that says the disk was full. */
export function isDiskFull(error: unknown, output = ''): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || /no space left on device|Errno 28\b|disk quota exceeded/i.test(output);
}

/**
 * A failed write whose error was lost on the way: binutils' ar, out of space while writing
 * libllama.a, says "unable to copy file 'src/libllama.a'; reason: Success" (errno was reset
 * before it was printed). The half-written archive is removed at once, so the space it took is
 * free again by the time anyone looks: the free space alone cannot tell.
 */
export function lostWriteError(output: string): boolean {
  return /unable to copy file .*; reason: Success/.test(output);
}

/**
 * Whether a command that failed writing into `dir` failed for lack of space: the disk full in its
 * output, nearly nothing left, or a lost write error with less left than the file it was writing
 * could need (libllama.a is about 9 MB; a lost write with 64 MB free is something else).
 */
export function failedForSpace(output: string, free: number | undefined): boolean {
  if (isDiskFull(undefined, output)) return true;
  if (free === undefined) return false;
  return free < NEARLY_FULL_BYTES || (lostWriteError(output) && free < LOST_WRITE_BYTES);
}

const NEARLY_FULL_BYTES = 8 * MB;
const LOST_WRITE_BYTES = 64 * MB;

/** Free bytes on the file system holding `dir`, or undefined when it cannot be read. */
export function freeBytes(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir);
    return Number(stats.bavail) * Number(stats.bsize);
  } catch {
    return undefined;
  }
}

export function diskFullError(dir: string, what: string, neededBytes: number | undefined, cause?: unknown, removed = 'the partial files were removed'): WorkbenchError {
  const free = freeBytes(dir);
  const needs = neededBytes ? `it needs about ${Math.ceil(neededBytes / MB)} MB` : 'it needs more room';
  const left = free === undefined ? '' : `, ${Math.floor(free / MB)} MB are free`;
  return new WorkbenchError(
    `the disk is full (no space left on device) while ${what} into ${displayPath(dir)}: ${needs}${left}; ${removed}`,
    `free space on that file system (df -h ${displayPath(dir)}), or set LLM_WORKBENCH_CACHE_DIR to a folder on a larger one, then run again: nothing needs deleting by hand`,
    { cause },
  );
}
