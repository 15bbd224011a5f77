/**
 * The state directory of a profile ($XDG_STATE_HOME/llm-workbench/<profile>): service records,
 * logs, secrets (0600) and the profile lock. Where each lives, in one place.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../plan/index.ts';

/** The slice of the plan this room reads: where the profile's state folder is. */
export type StateDirOf = { paths: Pick<Plan['paths'], 'stateDir'> };

export function statePaths(plan: StateDirOf) {
  const dir = plan.paths.stateDir;
  return {
    dir,
    lock: join(dir, 'workbench.lock'),
    serverRecord: join(dir, 'server.json'),
    serverLog: join(dir, 'server.log'),
    /** The container runtime's record: what the running container was started from. */
    containerRecord: join(dir, 'container.json'),
    /** Several models: llama_cpp.server's config file, or llama-server's router presets. */
    serverConfig: join(dir, 'server-config.json'),
    routerPreset: join(dir, 'models.ini'),
    jupyterRecord: join(dir, 'jupyter.json'),
    jupyterLog: join(dir, 'jupyter.log'),
    jupyterRuntime: join(dir, 'jupyter-runtime'),
    pythonEnv: join(dir, 'python-env.json'),
    buildLog: join(dir, 'llama-cpp-build.log'),
    /** make rpc-worker's rpc-server on this machine. */
    rpcWorkerRecord: join(dir, 'rpc-worker.json'),
    rpcWorkerLog: join(dir, 'rpc-worker.log'),
  };
}

export function ensureStateDir(plan: StateDirOf): void {
  mkdirSync(plan.paths.stateDir, { recursive: true, mode: 0o700 });
}
