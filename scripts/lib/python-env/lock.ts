/**
 * The Python half of the profile's lock file: the venv's packages pinned with their hashes. A
 * lock made for the same Python version, platform and package list is installed as is
 * (`pip install --require-hashes --no-deps`), so a second machine gets the same bytes; otherwise
 * pip resolves the packages (the report of a dry run), the lock is written from it, and the env is
 * installed from that lock.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLogged, tryOutput } from '../process/run.ts';
import { readLock, requirementsFromReport, requirementsText, updateLock } from '../state/lock-file.ts';
import type { Plan, PythonLock } from '../plan/index.ts';

export function lockTarget(plan: Plan, pythonVersion: string): PythonLock['for'] {
  return { python: pythonVersion, platform: `${process.platform}-${process.arch}`, packages: [...plan.python.pipPackages] };
}

/**
 * The lock's requirements when they were resolved for exactly this target. A profile whose lock
 * has none for it takes those of the nearest profile it extends that has: `extends: default` with
 * another model gets default's packages, the same versions and bytes, not a fresh resolution that
 * may pick newer ones (and costs pip's resolver a dozen seconds). Reads only: `pinLock` copies an
 * inherited one into the profile's own lock once it is installed.
 */
export function usableLock(plan: Plan, pythonVersion: string): PythonLock | undefined {
  const target = JSON.stringify(lockTarget(plan, pythonVersion));
  for (const file of [plan.paths.lockFile, ...plan.paths.parentLockFiles]) {
    const lock = readLock(file).python;
    if (lock && JSON.stringify(lock.for) === target) return lock;
  }
  return undefined;
}

/** Records what the env was installed from in the profile's own lock (where it came from a parent's). */
export function pinLock(plan: Plan, locked: PythonLock): void {
  updateLock(plan.paths.lockFile, (lock) => void (lock.python = locked));
}

/** Writes the locked requirements to a temporary file for pip, and removes it after `fn`. */
export async function withRequirementsFile<T>(lock: PythonLock, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-workbench-req-'));
  try {
    const file = join(dir, 'requirements.txt');
    writeFileSync(file, requirementsText(lock));
    return await fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Resolves the plan's packages as pip would install them, with their hashes (pip's report of
 * a dry run that ignores what is installed), and records them in the lock file.
 */
export async function recordPythonLock(plan: Plan, python: string, pythonVersion: string, findLinks: string[], logFile: string): Promise<PythonLock> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-workbench-report-'));
  try {
    const report = join(dir, 'report.json');
    await runLogged([python, '-m', 'pip', 'install', '--disable-pip-version-check', '--dry-run', '--ignore-installed', '--quiet', '--report', report, ...findLinks, ...plan.python.pipPackages], {
      label: 'pinning the Python packages with their hashes',
      logFile,
      hint: `read ${logFile}; PyPI must be reachable`,
    });
    const resolved: PythonLock = { for: lockTarget(plan, pythonVersion), requirements: requirementsFromReport(JSON.parse(readFileSync(report, 'utf8')), ['llama-cpp-python']) };
    updateLock(plan.paths.lockFile, (lock) => {
      lock.python = resolved;
    });
    return resolved;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const LIST_INSTALLED = 'import importlib.metadata as m\nfor d in m.distributions(): print(d.metadata["Name"], d.version)';

/** Where the env differs from the lock: `openai 3.58.0 installed, the lock says 3.57.0`. */
export async function lockDrift(python: string, lock: PythonLock): Promise<string | undefined> {
  const out = await tryOutput([python, '-c', LIST_INSTALLED]);
  if (out === undefined) return 'its packages cannot be listed';
  const normal = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');
  const installed = new Map(out.split('\n').map((line) => line.split(' ') as [string, string]).map(([name, version]) => [normal(name), version]));
  const drift: string[] = [];
  for (const requirement of lock.requirements) {
    const [, name, version] = /^([^=]+)==(\S+)/.exec(requirement) ?? [];
    if (!name || !version) continue;
    const have = installed.get(normal(name));
    if (have !== version) drift.push(`${name} ${have ? `${have} installed` : 'not installed'}, the lock says ${version}`);
  }
  return drift.length ? `${drift.slice(0, 3).join('; ')}${drift.length > 3 ? ` and ${drift.length - 3} more` : ''}` : undefined;
}
