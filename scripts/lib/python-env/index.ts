/**
 * The Python environment: conda, mamba or micromamba when present (from the rendered
 * environment.yml), otherwise a venv (uv when present, else python -m venv and pip) with the
 * same package list. Either way llama-cpp-python comes from our wheel cache, compiled once.
 */
import { existsSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { displayPath, WorkbenchError } from '../errors.ts';
import { describeChanges, factsFingerprint, type Facts } from '../fingerprint.ts';
import type { Preview } from '../outcome.ts';
import { lockDrift, pinLock, recordPythonLock, usableLock, withRequirementsFile } from './lock.ts';
import { backendFor } from '../backend/index.ts';
import { runLogged, tryOutput, which } from '../process/run.ts';
import { freshlyRendered } from '../render/render.ts';
import { statePaths } from '../state/paths.ts';
import { readEnvRecord, readPythonEnv, readSharedEnv, recordEnv, type CondaTool, type PythonEnv } from '../state/python-env.ts';
import type { Plan } from '../plan/index.ts';

export function findCondaTool(path = process.env.PATH ?? ''): { tool: CondaTool; path: string } | undefined {
  for (const tool of ['micromamba', 'mamba', 'conda'] as const) {
    const found = which(tool, path);
    if (found) return { tool, path: found };
  }
  return undefined;
}

/** The argv that creates or updates a conda env from environment.yml, per tool. */
export function condaArgv(tool: CondaTool, executable: string, action: 'create' | 'update', envName: string, file: string): string[] {
  if (tool === 'micromamba') {
    return action === 'create'
      ? [executable, 'create', '--yes', '--name', envName, '--file', file]
      : [executable, 'update', '--yes', '--name', envName, '--file', file, '--prune'];
  }
  return action === 'create'
    ? [executable, 'env', 'create', '--yes', '--name', envName, '--file', file]
    : [executable, 'env', 'update', '--name', envName, '--file', file, '--prune'];
}

/** Which route this plan takes on this machine. */
export function chooseManager(plan: Plan, path = process.env.PATH ?? ''): { kind: 'conda'; tool: CondaTool; path: string } | { kind: 'venv'; uv?: string } {
  const conda = findCondaTool(path);
  if (plan.python.manager === 'conda' && !conda) {
    throw new WorkbenchError(
      'python.manager is conda, but none of micromamba, mamba or conda is on PATH',
      'install Miniforge (conda-forge) or micromamba, or set python.manager: venv (or auto) in the profile',
    );
  }
  if (plan.python.manager !== 'venv' && conda) return { kind: 'conda', ...conda };
  const uv = which('uv', path);
  return uv ? { kind: 'venv', uv } : { kind: 'venv' };
}

/**
 * The python that builds venvs: the profile's version when installed, else python3. Its full
 * version (3.11.2, not 3.11): packages require patch releases (soupsieve 4.1.3 wants >=3.11.5),
 * so a lock resolved on one patch release may not install on another.
 */
async function hostPython(plan: Plan): Promise<{ path: string; version: string }> {
  for (const name of [`python${plan.python.version}`, 'python3']) {
    const path = which(name);
    if (!path) continue;
    const version = await tryOutput([path, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])']);
    if (version) return { path, version };
  }
  throw new WorkbenchError('no python3 on PATH', 'install Python 3 with venv support (Debian/Ubuntu: sudo apt-get install python3 python3-venv)');
}

/**
 * What the env of this plan is made of on this machine: the route, the Python version, the
 * packages, and the llama.cpp build (version and flags). Computed without changing anything,
 * so `make plan` and the server's fingerprint know the env a run would make.
 */
export async function expectedPythonEnv(plan: Plan): Promise<{ manager: PythonEnv['manager']; facts: Facts; fingerprint: string }> {
  const route = chooseManager(plan);
  const manager = route.kind === 'conda' ? route.tool : route.uv ? 'uv' : 'venv';
  const pythonVersion = route.kind === 'conda' ? plan.python.version : (await hostPython(plan)).version;
  const facts: Facts = {
    manager,
    'python version': pythonVersion,
    'pip packages': plan.python.pipPackages.join(' '),
    ...(route.kind === 'conda' ? { 'conda packages': plan.python.condaPackages.join(' ') } : {}),
    'llama.cpp build': plan.python.builtHere?.build ?? 'none (the server needs no Python)',
  };
  return { manager, facts, fingerprint: factsFingerprint(facts) };
}

/** What ensurePythonEnv would do, and why. */
export async function previewPythonEnv(plan: Plan): Promise<Preview> {
  const expected = await expectedPythonEnv(plan);
  const previous = chooseManager(plan).kind === 'venv' ? readSharedEnv(plan.python.venvDir) ?? readPythonEnv(plan) : readPythonEnv(plan);
  const compile = plan.python.builtHere && !backendFor(plan).hostBuild.cached(plan) ? `; compiles ${backendFor(plan).hostBuild.what} ${plan.llamaCpp.version} first (minutes)` : '';
  if (!previous || !existsSync(previous.python)) return { action: 'create', why: `a ${expected.manager} env${compile}` };
  if (previous.fingerprint !== expected.fingerprint) return { action: 'replace', why: `${describeChanges(previous.facts, expected.facts)}${compile}` };
  if (!(await envHasPackages(previous.python, requiredModules(plan)))) return { action: 'replace', why: 'packages are missing from it' };
  const drift = await envDrift(plan, previous);
  if (drift) return { action: 'replace', why: `it drifted from ${displayPath(plan.paths.lockFile)}: ${drift}` };
  return { action: 'keep', why: `same packages${readEnvRecord(statePaths(plan).pythonEnv)?.prefix === previous.prefix ? '' : ` (the env ${displayPath(previous.prefix)}, shared with the profiles that need them)`}` };
}

/** How an env installed from the lock has drifted from it since (a pip install by hand). */
async function envDrift(plan: Plan, env: PythonEnv): Promise<string | undefined> {
  if (env.manager === 'venv' || env.manager === 'uv') {
    const locked = usableLock(plan, env.pythonVersion);
    if (locked) return lockDrift(env.python, locked);
  }
  return undefined;
}

/** The modules the env must have: the server's (llama_cpp where it serves natively), openai, jupyterlab. */
function requiredModules(plan: Plan): string[] {
  return [...plan.python.serverModules, 'openai', 'jupyterlab'];
}

/**
 * An env whose fingerprint matches only needs its packages found (milliseconds); importing
 * them (two seconds) is kept for verifying an env we have just installed.
 */
async function envHasPackages(python: string, modules: string[]): Promise<boolean> {
  const probe = `import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in ${JSON.stringify(modules.filter((m) => !m.includes('.')))}) else 1)`;
  return (await tryOutput([python, '-c', probe])) !== undefined;
}

async function envWorks(python: string, modules: string[]): Promise<boolean> {
  return (await tryOutput([python, '-c', `import ${modules.join(', ')}`])) !== undefined;
}

export interface EnsureResult {
  outcome: 'created' | 'unchanged' | 'replaced';
  env: PythonEnv;
  /** Whether the package compiled here (the wheel) was compiled by this run. */
  compiled: boolean;
}

export async function ensurePythonEnv(plan: Plan): Promise<EnsureResult> {
  const route = chooseManager(plan);
  const host = await hostPython(plan);
  // Step 15 builds it; a make python-env run alone builds it too (cached: nothing to do).
  const { built } = plan.python.builtHere ? await backendFor(plan).hostBuild.ensure(plan) : { built: false };
  const { facts, fingerprint } = await expectedPythonEnv(plan);
  const modules = requiredModules(plan);
  const previous = readPythonEnv(plan);
  const logFile = join(plan.paths.stateDir, 'python-env.log');

  let env: PythonEnv;
  if (route.kind === 'conda') {
    const prefix = await condaPrefix(route.path, plan.python.envName);
    const shared = prefix ? readSharedEnv(prefix) ?? previous : previous;
    if (prefix && shared?.fingerprint === fingerprint && (await envHasPackages(join(prefix, 'bin', 'python'), modules))) {
      recordEnv(plan, shared);
      return { outcome: 'unchanged', env: shared, compiled: built };
    }
    const file = freshlyRendered(plan, 'environment.yml');
    await runLogged(condaArgv(route.tool, route.path, prefix ? 'update' : 'create', plan.python.envName, file), {
      label: `${route.tool} ${prefix ? 'updating' : 'creating'} ${plan.python.envName}`,
      logFile,
      // pip inside conda takes llama-cpp-python from the wheel cache instead of compiling.
      ...(plan.python.builtHere ? { env: { ...process.env, PIP_FIND_LINKS: plan.python.builtHere.findLinks } } : {}),
      hint: `read ${logFile}; conda-forge must be reachable`,
    });
    const created = await condaPrefix(route.path, plan.python.envName);
    if (!created) throw new WorkbenchError(`${route.tool} did not create env ${plan.python.envName}`, `read ${logFile}`);
    const python = join(created, 'bin', 'python');
    const version = (await tryOutput([python, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'])) ?? plan.python.version;
    env = { manager: route.tool, prefix: created, python, pythonVersion: version, fingerprint, facts };
  } else {
    const prefix = plan.python.venvDir;
    const python = join(prefix, 'bin', 'python');
    const manager = route.uv ? 'uv' : 'venv';
    const shared = readSharedEnv(prefix) ?? previous;
    if (existsSync(python) && shared?.fingerprint === fingerprint && (await envHasPackages(python, modules)) && !(await envDrift(plan, shared))) {
      // Made by this profile or by another that needs the same packages: either way, as it is.
      recordEnv(plan, shared);
      return { outcome: 'unchanged', env: shared, compiled: built };
    }
    if (!existsSync(python) || (await tryOutput([python, '-m', 'pip', '--version'])) === undefined) {
      // A folder without its python, or without pip (python -m venv stopped before ensurepip
      // ended: Ctrl-C, a kill), is what an interrupted run left: start it over (uv venv refuses an
      // existing folder). --seed puts pip in it, as python -m venv does: the notebook's %pip
      // install and the lock's pip report need it.
      rmSync(prefix, { recursive: true, force: true });
      const argv = route.uv ? [route.uv, 'venv', '--seed', '--python', host.path, prefix] : [host.path, '-m', 'venv', prefix];
      await runLogged(argv, { label: 'creating the venv', logFile, hint: 'install venv support (Debian/Ubuntu: sudo apt-get install python3-venv)' });
    }
    const findLinks = plan.python.builtHere ? ['--find-links', plan.python.builtHere.findLinks] : [];
    const pip = route.uv ? [route.uv, 'pip', 'install', '--python', python] : [python, '-m', 'pip', 'install', '--disable-pip-version-check'];
    const hint = `read ${logFile}; PyPI must be reachable`;
    // Without a lock for this Python and package list, pip resolves one first and the env is
    // installed from it: what is installed is what the lock says, whichever installer runs (uv
    // resolving on its own could pick other versions, and the next run would see drift).
    const locked = usableLock(plan, host.version) ?? (await recordPythonLock(plan, python, host.version, findLinks, logFile));
    // The same bytes as the machine that made the lock; llama-cpp-python from our own build.
    await withRequirementsFile(locked, (file) => runLogged([...pip, '--require-hashes', '--no-deps', '-r', file], { label: `installing the ${locked.requirements.length} locked Python packages`, logFile, hint }));
    pinLock(plan, locked);
    const builtHere = plan.python.builtHere;
    if (builtHere) await runLogged([...pip, '--no-deps', '--no-index', ...findLinks, builtHere.requirement], { label: `installing ${builtHere.requirement}`, logFile, hint });
    // The facts as they now stand: the lock may have just been written.
    const now = await expectedPythonEnv(plan);
    env = { manager, prefix, python, pythonVersion: host.version, fingerprint: now.fingerprint, facts: now.facts };
  }
  if (!(await envWorks(env.python, modules))) {
    throw new WorkbenchError(`the environment at ${env.prefix} cannot import ${modules.join(', ')}`, `read ${logFile}`);
  }
  const existed = readSharedEnv(env.prefix) ?? previous;
  recordEnv(plan, env);
  return { outcome: existed ? 'replaced' : 'created', env, compiled: built };
}

async function condaPrefix(executable: string, envName: string): Promise<string | undefined> {
  const text = await tryOutput([executable, 'env', 'list', '--json']);
  if (!text) return undefined;
  try {
    const envs = (JSON.parse(text) as { envs?: string[] }).envs ?? [];
    return envs.find((prefix) => basename(prefix) === envName);
  } catch {
    return undefined;
  }
}
