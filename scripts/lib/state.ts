/**
 * The state directory of a profile ($XDG_STATE_HOME/llm-workbench/<profile>): service records,
 * logs, secrets (0600) and the provision lock.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkbenchError } from './errors.ts';
import { writeFileAtomic } from './fs-atomic.ts';
import { withLock } from './lock.ts';
import type { Plan } from './profile/plan.ts';

export function statePaths(plan: Plan) {
  const dir = plan.paths.stateDir;
  return {
    dir,
    lock: join(dir, 'workbench.lock'),
    serverRecord: join(dir, 'server.json'),
    serverLog: join(dir, 'server.log'),
    jupyterRecord: join(dir, 'jupyter.json'),
    jupyterLog: join(dir, 'jupyter.log'),
    jupyterRuntime: join(dir, 'jupyter-runtime'),
    pythonEnv: join(dir, 'python-env.json'),
    buildLog: join(dir, 'llama-cpp-build.log'),
  };
}

export function ensureStateDir(plan: Plan): void {
  mkdirSync(plan.paths.stateDir, { recursive: true, mode: 0o700 });
}

/** Reads a secret file, creating it with a random value (0600) the first time. */
export function ensureSecret(file: string): { value: string; created: boolean } {
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return { value: readFileSync(file, 'utf8').trim(), created: false };
  }
  const value = randomBytes(24).toString('hex');
  writeFileAtomic(file, `${value}\n`, 0o600);
  return { value, created: true };
}

/** The API key clients must send, or undefined when the server takes none. */
export function serverApiKey(plan: Plan, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = plan.server.apiKey;
  if (key.kind === 'none') return undefined;
  if (key.kind === 'generate') return ensureSecret(key.file).value;
  const value = env[key.variable];
  if (!value) {
    throw new WorkbenchError(`server.api_key is env:${key.variable}, but ${key.variable} is not set`, `export ${key.variable}=<your key> before running, or use server.api_key: generate`);
  }
  return value;
}

/**
 * Holds the profile's lock while `fn` runs: every command that changes the profile's state takes
 * it, so two of them never run at once (they would stop each other's services).
 */
export async function withProfileLock<T>(plan: Plan, command: string, fn: () => Promise<T>): Promise<T> {
  ensureStateDir(plan);
  return withLock(statePaths(plan).lock, { command, what: `profile "${plan.profile.name}"` }, fn);
}
