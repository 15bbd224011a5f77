/**
 * Picks the container engine: LLM_WORKBENCH_CONTAINER_ENGINE, else the profile's
 * container.engine, else docker whose daemon answers, else podman; an error lists what was tried.
 */
import { WorkbenchError } from '../errors.ts';
import { which } from '../process/run.ts';
import { DOCKER_DEVICES, dockerEngine } from './docker.ts';
import { PODMAN_DEVICES, podmanEngine } from './podman.ts';
import type { ContainerEngine, DeviceSpelling } from './types.ts';
import type { Plan } from '../plan/index.ts';

type EngineSetting = Plan['container']['engine'];

const ENGINES: Record<ContainerEngine['name'], (binary: string) => ContainerEngine> = {
  docker: dockerEngine,
  podman: podmanEngine,
};

const DEVICE_SPELLINGS: Record<ContainerEngine['name'], DeviceSpelling> = { docker: DOCKER_DEVICES, podman: PODMAN_DEVICES };

/** How a rendered compose file spells a GPU for the profile's engine (auto: docker compose's, which compose-up tries first). */
export function composeDeviceSpelling(engine: EngineSetting): DeviceSpelling {
  return DEVICE_SPELLINGS[engine === 'auto' ? 'docker' : engine];
}

/** Engines with podman's quadlet (a .container file systemd runs): podman's own. */
const QUADLET_ENGINES: readonly ContainerEngine['name'][] = ['podman'];

/** Whether a profile's engine setting may run a quadlet file (auto may find podman). */
export function mayRunQuadlet(engine: EngineSetting): boolean {
  return engine === 'auto' || QUADLET_ENGINES.includes(engine);
}

/** The engine a record named (state/serving.ts): asked as it was then, with no detection. */
export function engineAt(name: ContainerEngine['name'], binary: string): ContainerEngine {
  return ENGINES[name](binary);
}

/** Every engine's name: what a profile's container.engine may say besides auto (profile/schema.ts). */
export const ENGINE_NAMES = Object.keys(ENGINES) as [ContainerEngine['name'], ...ContainerEngine['name'][]];

const INSTALL_HINT = 'install Podman (Debian/Ubuntu: sudo apt-get install podman) or Docker, or set runtime: native in the profile';

/**
 * Detection runs `docker info` / `podman info`; provision asks for the engine in several steps,
 * so the answer is kept for the life of the process (per forced choice and PATH).
 */
const detected = new Map<string, Promise<ContainerEngine>>();

/** `setting`: the profile's container.engine (auto, docker or podman). */
export function detectEngine(setting: EngineSetting, env: NodeJS.ProcessEnv = process.env): Promise<ContainerEngine> {
  const key = JSON.stringify([env.LLM_WORKBENCH_CONTAINER_ENGINE, setting, env.PATH, env.DOCKER_HOST, env.CONTAINERS_CONF]);
  let found = detected.get(key);
  if (!found) {
    found = findEngine(setting, env);
    // A failure is not remembered: the user may start the daemon and ask again.
    found.catch(() => detected.delete(key));
    detected.set(key, found);
  }
  return found;
}

async function findEngine(setting: EngineSetting, env: NodeJS.ProcessEnv): Promise<ContainerEngine> {
  const forced = env.LLM_WORKBENCH_CONTAINER_ENGINE || (setting !== 'auto' ? setting : undefined);
  if (forced !== undefined) {
    if (forced !== 'docker' && forced !== 'podman') {
      throw new WorkbenchError(`LLM_WORKBENCH_CONTAINER_ENGINE is "${forced}"`, 'use docker or podman');
    }
    const source = env.LLM_WORKBENCH_CONTAINER_ENGINE ? 'LLM_WORKBENCH_CONTAINER_ENGINE' : 'container.engine';
    const binary = which(forced, env.PATH);
    if (!binary) throw new WorkbenchError(`${source} asks for ${forced}, but ${forced} is not installed (not on PATH)`, INSTALL_HINT);
    const engine = ENGINES[forced](binary);
    const problem = await engine.problem();
    if (problem) throw daemonDown(engine, problem);
    return engine;
  }
  const tried: string[] = [];
  for (const name of ['docker', 'podman'] as const) {
    const binary = which(name, env.PATH);
    if (!binary) {
      tried.push(`${name}: not installed`);
      continue;
    }
    const engine = ENGINES[name](binary);
    const problem = await engine.problem();
    if (!problem) return engine;
    tried.push(`${name}: ${problem}`);
  }
  throw new WorkbenchError(`no container engine answers (tried ${tried.join('; ')})`, INSTALL_HINT);
}

function daemonDown(engine: ContainerEngine, problem: string): WorkbenchError {
  return new WorkbenchError(`${engine.name} is installed but does not answer (${engine.name} info: ${problem})`, engine.notAnsweringHint);
}
