/**
 * The same stack as deployment files: compose.yaml under `docker compose`, `docker-compose` or
 * `podman-compose`, and kube.yaml under `podman kube play`. Both are rendered from the plan the
 * tests run, their images are built by our engine (so the CA secret and the wheel cache apply)
 * and tagged by the build context's hash, so a changed profile rebuilds them. Each action
 * reports what it really did.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { detectEngine } from './engine/index.ts';
import type { ContainerEngine } from './engine/types.ts';
import { WorkbenchError } from './errors.ts';
import { writeFileAtomic } from './fs-atomic.ts';
import { jupyterToken } from './jupyter.ts';
import { displayPath } from './profile/load.ts';
import type { Plan } from './profile/plan.ts';
import { jupyterAnswers, modelIsListed, waitUntil } from './readiness.ts';
import { composeProject, kubeName, kubeSecretName } from './render.ts';
import { runLogged, which } from './run.ts';
import { buildSpec, ensureImage, imageTags } from './runtime/container.ts';
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

/**
 * The compose program for this engine: docker's compose plugin (v2) when it answers, else
 * Debian's docker-compose (1.x); podman-compose for podman (podman 4.3 has no compose verb).
 */
export async function composeCommand(engine: ContainerEngine): Promise<string[]> {
  if (engine.name === 'docker') {
    const [command, ...args] = engine.command('compose', 'version');
    if (!(await execa(command as string, args, { reject: false, stdin: 'ignore' })).failed) return engine.command('compose');
    const v1 = which('docker-compose');
    if (v1) return [v1];
    throw new WorkbenchError(
      'neither the docker compose plugin nor docker-compose is installed',
      'install one (Debian/Ubuntu: sudo apt-get install docker-compose; Docker Desktop has the plugin)',
    );
  }
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

/** The JupyterLab image, by the same context hash as the server's: new packages, new image. */
async function ensureJupyterImage(plan: Plan, engine: ContainerEngine): Promise<void> {
  const { byHash } = imageTags(plan);
  const hashTag = byHash.replace(`/${plan.container.image}:`, `/${plan.container.image}-jupyter:`);
  const profileTag = `localhost/${plan.container.image}-jupyter:${plan.profile.name}`;
  if (await engine.imageExists(hashTag)) {
    // The compose file names the profile tag: point it at this build (it may name an older one).
    const [command, ...args] = engine.command('tag', hashTag, profileTag);
    await execa(command as string, args, { reject: false, stdin: 'ignore' });
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
  const engine = await detectEngine(plan);
  const compose = await composeCommand(engine);
  await ensureImage(plan, engine);
  if (plan.jupyter.enabled) await ensureJupyterImage(plan, engine);
  const before = await composeContainers(plan, engine);
  await runLogged([...compose, '-p', composeProject(plan), '-f', file, 'up', '-d'], {
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
  const engine = await detectEngine(plan);
  const before = await composeContainers(plan, engine);
  await runLogged([...(await composeCommand(engine)), '-p', composeProject(plan), '-f', file, 'down'], {
    label: 'compose down',
    logFile: join(plan.paths.stateDir, 'compose.log'),
    env: composeEnv(plan),
    hint: 'read the log',
  });
  const removed = before.filter((id) => id !== undefined).length;
  return { outcome: removed ? 'removed' : 'unchanged', detail: removed ? `stopped ${displayPath(file)}` : 'nothing was running' };
}

function requirePodman(engine: ContainerEngine): void {
  if (engine.name !== 'podman') {
    throw new WorkbenchError('kube.yaml runs locally only under podman (podman kube play)', 'use podman, or kubectl apply -f build/<profile>/kube.yaml on a cluster that can pull the image');
  }
}

/**
 * The Secret kube.yaml refers to, with the profile's key: a 0600 file in the state folder, never
 * the rendered kube.yaml (which is meant to be read and shared).
 */
function writeKubeSecret(plan: Plan, apiKey: string): string {
  const file = join(plan.paths.stateDir, 'kube-secret.yaml');
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: kubeSecretName(plan) }, type: 'Opaque', data: { 'api-key': Buffer.from(apiKey).toString('base64') } };
  writeFileAtomic(file, stringify(secret), 0o600);
  return file;
}

async function podmanRun(engine: ContainerEngine, args: string[]) {
  const [command, ...rest] = engine.command(...args);
  return execa(command as string, rest, { reject: false, all: true, stdin: 'ignore' });
}

export async function kubeUp(plan: Plan): Promise<StepResult> {
  const file = rendered(plan, 'kube.yaml');
  requireModel(plan);
  const engine = await detectEngine(plan);
  requirePodman(engine);
  await ensureImage(plan, engine);
  const pod = `${kubeName(plan)}-pod`;
  const existed = !(await podmanRun(engine, ['pod', 'exists', pod])).failed;
  const apiKey = serverApiKey(plan);
  if (apiKey !== undefined) {
    await podmanRun(engine, ['secret', 'rm', kubeSecretName(plan)]);
    const secret = await podmanRun(engine, ['kube', 'play', writeKubeSecret(plan, apiKey)]);
    if (secret.failed) throw new WorkbenchError(`podman kube play could not create the Secret ${kubeSecretName(plan)}`, 'read the output below', { details: String(secret.all) });
  }
  const played = await podmanRun(engine, ['kube', 'play', '--replace', file]);
  if (played.failed) {
    throw new WorkbenchError(`podman kube play ${displayPath(file)} failed (exit code ${played.exitCode})`, 'read the output below', { details: String(played.all) });
  }
  // Pod and container names differ between podman releases: take the container id it prints.
  const container = /Container:\s*\n([0-9a-f]{12,})/.exec(String(played.stdout))?.[1];
  if (!container) throw new WorkbenchError('podman kube play started no container', 'read its output', { details: String(played.all) });
  await waitForServer(plan, `kube deployment ${kubeName(plan)}`, engine, container);
  return { outcome: existed ? 'replaced' : 'created', detail: `${plan.server.baseUrl} (deployment ${kubeName(plan)} from ${displayPath(file)})` };
}

export async function kubeDown(plan: Plan): Promise<StepResult> {
  const file = rendered(plan, 'kube.yaml');
  const engine = await detectEngine(plan);
  requirePodman(engine);
  const existed = !(await podmanRun(engine, ['pod', 'exists', `${kubeName(plan)}-pod`])).failed;
  await runLogged(engine.command('kube', 'down', file), { label: 'podman kube down', logFile: join(plan.paths.stateDir, 'kube.log'), hint: 'read the log' });
  const secretRemoved = !(await podmanRun(engine, ['secret', 'rm', kubeSecretName(plan)])).failed;
  return { outcome: existed || secretRemoved ? 'removed' : 'unchanged', detail: existed ? `removed the pod of ${displayPath(file)}` : 'nothing was running' };
}
