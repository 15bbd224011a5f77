/**
 * compose.yaml under `docker compose`, `docker-compose` (1.x) or `podman-compose`: rendered from
 * the plan the tests run, its images built by our engine (so the CA secret and the wheel cache
 * apply) and tagged by the build context's hash, so a changed profile rebuilds them. Each
 * action reports what it really did.
 */
import { join } from 'node:path';
import { detectEngine } from '../engine/index.ts';
import type { ContainerEngine } from '../engine/types.ts';
import { displayPath } from '../errors.ts';
import { jupyterToken } from '../jupyter/jupyter.ts';
import { jupyterAnswers, waitUntil } from '../process/readiness.ts';
import { runLogged } from '../process/run.ts';
import { buildSpec, ensureImage, imageTags, tagImage } from '../runtime/image.ts';
import { readyTimeoutMs } from '../process/service.ts';
import { serverApiKey } from '../state/secrets.ts';
import type { StepResult } from '../step.ts';
import { rendered, requireModel, waitForServer } from './shared.ts';
import type { Plan } from '../plan/index.ts';

function composeEnv(plan: Plan): Record<string, string | undefined> {
  return { ...process.env, JUPYTER_TOKEN: plan.jupyter.enabled ? jupyterToken(plan) : undefined, API_KEY: serverApiKey(plan) };
}

/** The JupyterLab image, by the same context hash as the server's: new packages, new image. */
async function ensureJupyterImage(plan: Plan, engine: ContainerEngine): Promise<void> {
  const { byHash } = imageTags(plan);
  const hashTag = byHash.replace(`/${plan.container.image}:`, `/${plan.container.image}-jupyter:`);
  const profileTag = `localhost/${plan.container.image}-jupyter:${plan.profile.name}`;
  if (await engine.imageExists(hashTag)) {
    // The compose file names the profile tag: point it at this build (it may name an older one).
    await tagImage(engine, hashTag, profileTag);
    return;
  }
  await engine.build(buildSpec(plan, [hashTag, profileTag], 'jupyter'));
}

/** The ids of the containers compose runs for this profile (by their fixed names). */
async function composeContainers(plan: Plan, engine: ContainerEngine): Promise<(string | undefined)[]> {
  const names = [plan.container.name, ...(plan.jupyter.enabled ? [`${plan.container.name}-jupyter`] : [])];
  return Promise.all(names.map(async (name) => (await engine.inspect(name))?.id));
}

function outcomeOf(before: (string | undefined)[], after: (string | undefined)[]): StepResult['outcome'] {
  if (before.every((id) => id === undefined)) return 'created';
  return before.every((id, i) => id !== undefined && id === after[i]) ? 'unchanged' : 'replaced';
}

export async function composeUp(plan: Plan): Promise<StepResult> {
  const file = rendered(plan, 'compose.yaml');
  requireModel(plan);
  const engine = await detectEngine(plan.container.engine);
  const compose = await engine.composeProgram();
  await ensureImage(plan, engine);
  if (plan.jupyter.enabled) await ensureJupyterImage(plan, engine);
  const before = await composeContainers(plan, engine);
  await runLogged([...compose, '-p', plan.container.composeProject, '-f', file, 'up', '-d'], {
    label: 'compose up',
    logFile: join(plan.paths.stateDir, 'compose.log'),
    env: composeEnv(plan),
    hint: `read the log; ${displayPath(file)} is the file it ran`,
  });
  await waitForServer(plan, `compose service model-server (${plan.container.name})`, engine, plan.container.name);
  if (plan.jupyter.enabled) {
    const token = jupyterToken(plan);
    const container = `${plan.container.name}-jupyter`;
    await waitUntil(() => jupyterAnswers(plan.jupyter.url, token), {
      what: 'compose service jupyter',
      timeoutMs: readyTimeoutMs(),
      logName: `${engine.name} logs ${container}`,
      logTail: () => engine.logs(container, 30),
      isAlive: async () => (await engine.inspect(container))?.running === true,
      logsHint: `${engine.name} logs ${container} shows the whole log`,
    });
  }
  const after = await composeContainers(plan, engine);
  return { outcome: outcomeOf(before, after), detail: `${plan.server.baseUrl}${plan.jupyter.enabled ? ` and ${plan.jupyter.url}` : ''} (${compose.join(' ')}, ${displayPath(file)})` };
}

export async function composeDown(plan: Plan): Promise<StepResult> {
  const file = rendered(plan, 'compose.yaml');
  const engine = await detectEngine(plan.container.engine);
  const before = await composeContainers(plan, engine);
  await runLogged([...(await engine.composeProgram()), '-p', plan.container.composeProject, '-f', file, 'down'], {
    label: 'compose down',
    logFile: join(plan.paths.stateDir, 'compose.log'),
    env: composeEnv(plan),
    hint: 'read the log',
  });
  const removed = before.filter((id) => id !== undefined).length;
  return { outcome: removed ? 'removed' : 'unchanged', detail: removed ? `stopped ${displayPath(file)}` : 'nothing was running' };
}
