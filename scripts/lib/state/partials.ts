/**
 * What an interrupted command of ours leaves: `<name>.partial-<pid>` folders (a build, a PyPI
 * download's staging). Removed once their process is gone; a live pid may be another profile at
 * work right now.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from './process-identity.ts';

/** Removes the abandoned `.partial-<pid>` entries directly under `root`; returns their names. */
export function removeAbandonedPartials(root: string): string[] {
  if (!existsSync(root)) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(root)) {
    const pid = /\.partial-(\d+)$/.exec(entry)?.[1];
    if (pid === undefined || isProcessAlive(Number(pid))) continue;
    rmSync(join(root, entry), { recursive: true, force: true });
    removed.push(entry);
  }
  return removed;
}
