/**
 * A Python with llama_cpp.server for make bench (its server and the in-process raw engine): the
 * profile's own env when it serves with llama-cpp-python natively, else a venv of the bench's in
 * the cache, made from the same cached wheel (keyed by it, so a new build gets a new env).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hostBuildPython } from '../../llama-cpp/sdist.ts';
import { runLogged, tryOutput } from '../../process/run.ts';
import { statePaths } from '../../state/paths.ts';
import { WHEEL_BUILD, wheelDir, wheelKey } from './wheel.ts';
import type { Plan } from '../../plan/index.ts';
import { readPythonEnv } from '../../state/python-env.ts';

const IMPORTS = 'import llama_cpp, llama_cpp.server';

export async function benchPython(plan: Plan): Promise<string> {
  const own = readPythonEnv(plan);
  if (own && plan.python.serverModules.includes('llama_cpp') && (await tryOutput([own.python, '-c', IMPORTS])) !== undefined) return own.python;
  await WHEEL_BUILD.ensure(plan);
  const prefix = join(plan.paths.cacheDir, 'bench-envs', wheelKey(plan, 'native'));
  const python = join(prefix, 'bin', 'python');
  if (existsSync(python) && (await tryOutput([python, '-c', IMPORTS])) !== undefined) return python;
  const logFile = statePaths(plan).buildLog;
  await runLogged([hostBuildPython(plan).path, '-m', 'venv', '--clear', prefix], { label: 'creating the bench venv', logFile, hint: 'install venv support (Debian/Ubuntu: sudo apt-get install python3-venv)' });
  await runLogged([python, '-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '--find-links', wheelDir(plan), `llama-cpp-python[server]==${plan.llamaCpp.version}`], {
    label: 'installing llama-cpp-python into the bench venv',
    logFile,
    hint: `read ${logFile}; PyPI must be reachable`,
  });
  return python;
}
