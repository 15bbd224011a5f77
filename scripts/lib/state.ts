/**
 * The state directory of a profile ($XDG_STATE_HOME/llm-workbench/<profile>): service records,
 * logs, secrets (0600) and the provision lock.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { WorkbenchError } from './errors.ts';
import { writeFileAtomic } from './fs-atomic.ts';
import type { Plan } from './profile/plan.ts';

export function statePaths(plan: Plan) {
  const dir = plan.paths.stateDir;
  return {
    dir,
    lock: join(dir, 'provision.lock'),
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

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Holds the profile's provision lock while `fn` runs. A second provision of the same profile
 * is refused with the pid that holds it; a lock left by a dead process is taken over.
 */
export async function withProvisionLock<T>(plan: Plan, fn: () => Promise<T>): Promise<T> {
  ensureStateDir(plan);
  const lock = statePaths(plan).lock;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = Number.parseInt(readFileSync(lock, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && pidAlive(holder)) {
        throw new WorkbenchError(
          `another provision of profile "${plan.profile.name}" is running (pid ${holder})`,
          `wait for it to finish, or stop it (kill ${holder}) and run again`,
        );
      }
      rmSync(lock, { force: true });
    }
  }
  const release = () => rmSync(lock, { force: true });
  process.once('exit', release);
  try {
    return await fn();
  } finally {
    release();
    process.removeListener('exit', release);
  }
}
