/**
 * The host Python env's records: the env's own (inside it: what it was made of, whichever profile
 * made it) and the profile's (which env the profile uses). python-env/ writes them; every reader
 * (JupyterLab, the native server, the bench, the checks) reads them here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { WorkbenchError } from '../errors.ts';
import type { Facts } from '../fingerprint.ts';
import type { Plan } from '../plan/index.ts';
import { statePaths } from './paths.ts';

export type CondaTool = 'micromamba' | 'mamba' | 'conda';

export interface PythonEnv {
  manager: CondaTool | 'venv' | 'uv';
  prefix: string;
  python: string;
  pythonVersion: string;
  fingerprint: string;
  facts?: Facts;
}

/**
 * The record of the env this plan uses: the venv's own, else the profile's when it names this env
 * (a conda env, which lives where conda keeps it). The profile's record may name the env of its
 * former packages (another runtime, another backend): that one is not this plan's.
 */
export function readPythonEnv(plan: Plan): PythonEnv | undefined {
  return readSharedEnv(plan.python.venvDir) ?? profileEnvRecord(plan.paths.stateDir, plan.python);
}

/**
 * The profile's record (step 20 wrote it) when it names the env `env` describes: a conda env of
 * that name (conda decides where it lives), or that venv. The resolver reads the python from it.
 */
export function profileEnvRecord(stateDir: string, env: { envName: string; venvDir: string }): PythonEnv | undefined {
  const recorded = readEnvRecord(statePaths({ paths: { stateDir } }).pythonEnv);
  if (!recorded || typeof recorded.prefix !== 'string' || typeof recorded.python !== 'string') return undefined;
  const isVenv = recorded.manager === 'venv' || recorded.manager === 'uv';
  return (isVenv ? recorded.prefix === env.venvDir : basename(recorded.prefix) === env.envName) ? recorded : undefined;
}

export function readEnvRecord(file: string): PythonEnv | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PythonEnv;
  } catch {
    return undefined;
  }
}

/**
 * The env's own record, inside it: what it was made of, whichever profile made it. A profile that
 * needs the same packages finds it there and leaves the env as it is.
 */
const SHARED_RECORD = 'llm-workbench-env.json';

export function readSharedEnv(prefix: string): PythonEnv | undefined {
  return readEnvRecord(join(prefix, SHARED_RECORD));
}

/** The env's own record and the profile's (which says which env the profile uses). */
export function recordEnv(plan: Plan, env: PythonEnv): void {
  const text = `${JSON.stringify(env, null, 2)}\n`;
  writeFileAtomic(join(env.prefix, SHARED_RECORD), text);
  writeFileAtomic(statePaths(plan).pythonEnv, text);
}

/** The env's python, or a clear error when the python-env step has not run. */
export function requirePythonEnv(plan: Plan): PythonEnv {
  const env = readPythonEnv(plan);
  if (!env || !existsSync(env.python)) {
    throw new WorkbenchError(`the Python environment of profile "${plan.profile.name}" is not set up`, 'run make python-env (or make provision) first');
  }
  return env;
}

