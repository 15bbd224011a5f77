/** The one way steps get a plan: load `env/<PROFILE>.yml`, its lock file, and resolve. */
import { readFileSync } from 'node:fs';
import { arch as nodeArch, availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLock } from '../state/lock-file.ts';
import { loadProfile } from './load.ts';
import { gpuFacts } from '../accelerator/facts.ts';
import { readChatTemplate } from '../model/chat-template.ts';
import { profilesDir, resolvePlan, type PlanContext } from './plan.ts';
import { profileEnvRecord } from '../state/python-env.ts';
import { coreSharers, stateRootOf } from '../state/serving.ts';
import type { LockedModel, Plan } from '../plan/index.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function profileName(env: Record<string, string | undefined> = process.env): string {
  return env.PROFILE || 'default';
}

export function machineArch(): string {
  const a = nodeArch();
  return a === 'x64' ? 'x86_64' : a === 'arm64' ? 'aarch64' : a;
}

/** The CPU's feature flags, from the first processor in /proc/cpuinfo (none where it is unreadable). */
export function cpuFlags(): string[] {
  try {
    const line = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return line ? (line[1] as string).trim().split(/\s+/) : [];
  } catch {
    return [];
  }
}

/** `looked`: models looked up but not pinned (make plan's hf: sources), over the lock's. */
export function planFor(name: string = profileName(), env: Record<string, string | undefined> = process.env, repoRoot = REPO_ROOT, looked: Record<string, LockedModel> = {}): Plan {
  const envDir = profilesDir(repoRoot, env);
  const loaded = loadProfile(name, envDir);
  const lock = readLock(join(envDir, `${name}.lock.json`));
  // The env's python as step 20 recorded it (a conda env lives where conda keeps it): the server
  // command runs under it.
  const readRecordedInterpreter = (stateDir: string, pythonEnv: { envName: string; venvDir: string }) => profileEnvRecord(stateDir, pythonEnv)?.python;
  // Other profiles' servers on this machine's cores, for n_threads: auto (every profile of this user: a second checkout's too).
  const sharers = (stateDir: string) => coreSharers(stateRootOf(stateDir), name);
  const ctx: PlanContext = { repoRoot, env, arch: machineArch(), cpuCount: availableParallelism(), cpuFlags: cpuFlags(), lockedModels: { ...lock.models, ...looked }, gpuFacts: gpuFacts(env), readChatTemplate, readRecordedInterpreter, coreSharers: sharers };
  resolutions += 1;
  return resolvePlan(loaded, ctx);
}

let resolutions = 0;

/** How many plans this process has resolved (a test holds make provision to one on an unchanged stack). */
export function planResolutions(): number {
  return resolutions;
}
