/**
 * `env/<profile>.lock.json`: what a profile resolved to, so a second machine with the same lock
 * installs the same bytes, and `make plan` can say when this machine has drifted from it.
 *
 * - `models`: each model's sha256, recorded by the first download of a profile without one.
 * - `python`: the env's packages as pip's `--require-hashes` lines (`name==version
 *   --hash=sha256:...`), for the Python version and platform they were resolved on and the
 *   package list they were resolved from. llama-cpp-python itself is not among them: it is
 *   built here (see `llamaCpp`).
 * - `llamaCpp`: the sdist's sha256 and the llama.cpp commit it vendors (read from the sdist's
 *   own git metadata), so the compiled wheel is known to come from the same source; and the build
 *   made from it: the accelerator (cpu, cuda, vulkan), toolkit and cache key.
 * - `image`: the base image's id for a container profile.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-write.ts';
import { WorkbenchError } from '../errors.ts';
import type { LockFile, PythonLock } from '../plan/index.ts';

export function readLock(lockFile: string): LockFile {
  if (!existsSync(lockFile)) return { models: {} };
  try {
    const parsed = JSON.parse(readFileSync(lockFile, 'utf8')) as Partial<LockFile>;
    return { ...parsed, models: parsed.models ?? {} };
  } catch (error) {
    throw new WorkbenchError(`${lockFile} is not valid JSON`, 'delete it: the next provision records it again', { cause: error });
  }
}

/** Updates one section of the lock file, keeping the others (written atomically). */
export function updateLock(lockFile: string, change: (lock: LockFile) => void): void {
  const lock = readLock(lockFile);
  const before = JSON.stringify(lock);
  change(lock);
  if (JSON.stringify(lock) !== before) writeFileAtomic(lockFile, `${JSON.stringify(lock, null, 2)}\n`);
}

/** The lock's requirements as a requirements file (what `pip install --require-hashes -r` reads). */
export function requirementsText(lock: PythonLock): string {
  return `${lock.requirements.join('\n')}\n`;
}

/** Lines of pip's installation report (`pip install --dry-run --report`) as locked requirements. */
export function requirementsFromReport(report: { install: { metadata: { name: string; version: string }; download_info: { archive_info?: { hashes?: { sha256?: string } } } }[] }, skip: string[]): string[] {
  const normal = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');
  const skipped = new Set(skip.map(normal));
  return report.install
    .filter((item) => !skipped.has(normal(item.metadata.name)))
    .map((item) => {
      const hash = item.download_info.archive_info?.hashes?.sha256;
      if (!hash) throw new WorkbenchError(`pip reported no sha256 for ${item.metadata.name} ${item.metadata.version}`, 'the package index must serve hashes; run again with another index or without the lock');
      return `${normal(item.metadata.name)}==${item.metadata.version} --hash=sha256:${hash}`;
    })
    .sort();
}
