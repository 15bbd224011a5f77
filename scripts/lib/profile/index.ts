/** The one way steps get a plan: load `env/<PROFILE>.yml`, its lock file, and resolve. */
import { existsSync, readFileSync } from 'node:fs';
import { arch as nodeArch } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkbenchError } from '../errors.ts';
import { loadProfile } from './load.ts';
import { modelId, profilesDir, resolvePlan, type Plan } from './plan.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

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

export function profileName(env: Record<string, string | undefined> = process.env): string {
  return env.PROFILE || 'default';
}

export function machineArch(): string {
  const a = nodeArch();
  return a === 'x64' ? 'x86_64' : a === 'arm64' ? 'aarch64' : a;
}

export function planFor(name: string = profileName(), env: Record<string, string | undefined> = process.env, repoRoot = REPO_ROOT): Plan {
  const envDir = profilesDir(repoRoot, env);
  const loaded = loadProfile(name, envDir);
  const lock = readLock(join(envDir, `${name}.lock.json`));
  const locked = lock.models[modelId(loaded.profile.model.source, loaded.profile.model.file)];
  return resolvePlan(loaded, { repoRoot, env, arch: machineArch(), ...(locked ? { lockedSha256: locked.sha256 } : {}) });
}
