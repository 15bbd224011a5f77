/**
 * The same stack as deployment files: compose.yaml under `docker compose` or `podman-compose`,
 * and kube.yaml under `podman kube play`. Both are rendered from the plan the tests run, and
 * their images are built by our engine (so the CA secret and the wheel cache apply).
 */
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { join } from 'node:path';
import { detectEngine } from './engine/index.ts';
import type { ContainerEngine } from './engine/types.ts';
import { WorkbenchError } from './errors.ts';
import { jupyterToken } from './jupyter.ts';
import { displayPath } from './profile/load.ts';
import type { Plan } from './profile/plan.ts';
import { jupyterAnswers, modelIsListed, waitUntil } from './readiness.ts';
import { kubeName } from './render.ts';
import { runLogged, which } from './run.ts';
import { buildSecrets, ensureImage } from './runtime/container.ts';
import { readyTimeoutMs } from './service.ts';
import { serverApiKey } from './state.ts';
import type { StepResult } from './step.ts';

function rendered(plan: Plan, file: string): string {
  const path = join(plan.paths.buildDir, file);
  if (!existsSync(path)) throw new WorkbenchError(`${displayPath(path)} is missing`, 'run make render first');
  return path;
}

function requireModel(plan: Plan): void {
  if (!existsSync(plan.model.path)) throw new WorkbenchError(`the model ${displayPath(plan.model.path)} is not there yet`, 'run make model first');
}

/** `docker compose` or podman-compose (podman 4.3 has no compose subcommand). */
function composeCommand(engine: ContainerEngine): string[] {
  if (engine.name === 'docker') return engine.command('compose');
  const podmanCompose = which('podman-compose');
  if (!podmanCompose) throw new WorkbenchError('podman-compose is not installed', 'Debian/Ubuntu: sudo apt-get install podman-compose (or pip install podman-compose)');
  return [podmanCompose];
}

async function waitForServer(plan: Plan, what: string, engine: ContainerEngine, container: string): Promise<void> {
  const apiKey = serverApiKey(plan);
  await waitUntil(() => modelIsListed(plan.server.baseUrl, plan.model.alias, apiKey), {
    what,
    timeoutMs: readyTimeoutMs(),
    logName: `${engine.name} logs ${container}`,
    logTail: () => engine.logs(container, 30),
    isAlive: async () => (await engine.inspect(container))?.running === true,
    logsHint: `${engine.name} logs ${container} shows the whole log`,
  });
}

function composeEnv(plan: Plan): Record<string, string | undefined> {
  return { ...process.env, JUPYTER_TOKEN: plan.jupyter.enabled ? jupyterToken(plan) : undefined, API_KEY: serverApiKey(plan) };
}

export async function composeUp(plan: Plan): Promise<StepResult> {
  const file = rendered(plan, 'compose.yaml');
  requireModel(plan);
  const engine = await detectEngine(plan);
  await ensureImage(plan, engine);
  if (plan.jupyter.enabled) {
    const tag = `localhost/${plan.container.image}-jupyter:${plan.profile.name}`;
    if (!(await engine.imageExists(tag))) {
      await engine.build({ context: plan.paths.buildDir, tags: [tag], target: 'jupyter', secrets: buildSecrets(), logFile: join(plan.paths.stateDir, 'image-build.log') });
    }
  }
  await runLogged([...composeCommand(engine), '-f', file, 'up', '-d'], {
    label: 'compose up',
    logFile: join(plan.paths.stateDir, 'compose.log'),
    env: composeEnv(plan),
    hint: `read the log; ${displayPath(file)} is the file it ran`,
  });
  await waitForServer(plan, `compose service model-server (${plan.container.name})`, engine, plan.container.name);
  if (plan.jupyter.enabled) {
    const token = jupyterToken(plan);
    await waitUntil(() => jupyterAnswers(plan.jupyter.url, token), {
      what: 'compose service jupyter',
      timeoutMs: readyTimeoutMs(),
      logName: 'compose logs jupyter',
      logTail: () => '(see: compose logs jupyter)',
      isAlive: () => true,
      logsHint: `${composeCommand(engine).join(' ')} -f ${displayPath(file)} logs jupyter`,
    });
  }
  return { outcome: 'created', detail: `${plan.server.baseUrl}${plan.jupyter.enabled ? ` and ${plan.jupyter.url}` : ''} (${displayPath(file)})` };
}

export async function composeDown(plan: Plan): Promise<StepResult> {
  const file = rendered(plan, 'compose.yaml');
  const engine = await detectEngine(plan);
  await runLogged([...composeCommand(engine), '-f', file, 'down'], {
    label: 'compose down',
    logFile: join(plan.paths.stateDir, 'compose.log'),
    env: composeEnv(plan),
    hint: 'read the log',
  });
  return { outcome: 'replaced', detail: `stopped ${displayPath(file)}` };
}

function requirePodman(engine: ContainerEngine): void {
  if (engine.name !== 'podman') {
    throw new WorkbenchError('kube.yaml runs locally only under podman (podman kube play)', 'use podman, or kubectl apply -f build/<profile>/kube.yaml on a cluster that can pull the image');
  }
}

export async function kubeUp(plan: Plan): Promise<StepResult> {
  const file = rendered(plan, 'kube.yaml');
  requireModel(plan);
  const engine = await detectEngine(plan);
  requirePodman(engine);
  await ensureImage(plan, engine);
  const [command, ...args] = engine.command('kube', 'play', '--replace', file) as [string, ...string[]];
  const played = await execa(command, args, { reject: false, all: true, stdin: 'ignore' });
  if (played.failed) {
    throw new WorkbenchError(`podman kube play ${displayPath(file)} failed (exit code ${played.exitCode})`, 'read the output above', { details: String(played.all) });
  }
  // Pod and container names differ between podman releases: take the container id it prints.
  const container = /Container:\s*\n([0-9a-f]{12,})/.exec(String(played.stdout))?.[1];
  if (!container) throw new WorkbenchError('podman kube play started no container', 'read its output', { details: String(played.all) });
  await waitForServer(plan, `kube deployment ${kubeName(plan)}`, engine, container);
  return { outcome: 'created', detail: `${plan.server.baseUrl} (deployment ${kubeName(plan)} from ${displayPath(file)})` };
}

export async function kubeDown(plan: Plan): Promise<StepResult> {
  const file = rendered(plan, 'kube.yaml');
  const engine = await detectEngine(plan);
  requirePodman(engine);
  await runLogged(engine.command('kube', 'down', file), { label: 'podman kube down', logFile: join(plan.paths.stateDir, 'kube.log'), hint: 'read the log' });
  return { outcome: 'replaced', detail: `removed the pod of ${displayPath(file)}` };
}
