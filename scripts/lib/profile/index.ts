/** The one way steps get a plan: load `env/<PROFILE>.yml`, its lock file, and resolve. */
import { arch as nodeArch, availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLock } from './lock-file.ts';
import { loadProfile } from './load.ts';
import { profilesDir, resolvePlan, type Plan } from './plan.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

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
  const lockedSha256 = Object.fromEntries(Object.entries(lock.models).map(([id, entry]) => [id, entry.sha256]));
  return resolvePlan(loaded, { repoRoot, env, arch: machineArch(), cpuCount: availableParallelism(), lockedSha256 });
}
