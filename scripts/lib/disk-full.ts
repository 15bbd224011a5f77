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
