/**
 * `env/<profile>.lock.json`: what a profile resolved to, so a second machine gets the same
 * bytes. Today the model's sha256, recorded by the first download of a profile without one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { WorkbenchError } from '../errors.ts';

export interface LockFile {
  models: Record<string, { source: string; file?: string; sha256: string }>;
}

export function readLock(lockFile: string): LockFile {
  if (!existsSync(lockFile)) return { models: {} };
  try {
    const parsed = JSON.parse(readFileSync(lockFile, 'utf8')) as LockFile;
    return { models: parsed.models ?? {} };
  } catch (error) {
    throw new WorkbenchError(`${lockFile} is not valid JSON`, 'delete it: the next download records the sha256 again', { cause: error });
  }
}
