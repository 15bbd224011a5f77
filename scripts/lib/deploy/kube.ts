/**
 * kube.yaml under `podman kube play`: the Deployment and Service rendered from the plan, and,
 * with an API key, the Secret they name, created from the profile's key (a 0600 file in the state
 * folder, never the rendered kube.yaml, which is meant to be read and shared).
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { detectEngine } from '../engine/index.ts';
import type { ContainerEngine } from '../engine/types.ts';
import { displayPath, WorkbenchError } from '../errors.ts';
import { runLogged } from '../process/run.ts';
import { ensureImage } from '../runtime/image.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import { serverApiKey } from '../state/secrets.ts';
import type { StepResult } from '../step.ts';
import { rendered, requireModel, waitForServer } from './shared.ts';
import type { Plan } from '../plan/index.ts';

function requirePodman(engine: ContainerEngine): void {
  if (!engine.playsKube) {
    throw new WorkbenchError('kube.yaml runs locally only under podman (podman kube play)', 'use podman, or kubectl apply -f build/<profile>/kube.yaml on a cluster that can pull the image');
  }
}

/**
 * The Secret kube.yaml names, as podman's secretKeyRef reads it: a podman secret holding a JSON
 * map of key to base64 value. podman 4.3 reads only that form (a Secret manifest given to kube
 * play is stored as YAML and then refused as "not valid JSON"); later releases read it too. The
 * data goes through a 0600 file, never a command line.
 */
function writeKubeSecret(plan: Plan, apiKey: string): string {
  const file = join(plan.paths.stateDir, 'kube-secret.json');
  writeFileAtomic(file, `${JSON.stringify({ 'api-key': Buffer.from(apiKey).toString('base64') })}\n`, 0o600);
  return file;
}

async function podmanRun(engine: ContainerEngine, args: string[]) {
  const [command, ...rest] = engine.command(...args);
  return execa(command as string, rest, { reject: false, all: true, stdin: 'ignore' });
}

/** The pods kube play made for this Deployment: `<name>-pod` or, in podman 4.3, `<name>-pod-0`. */
async function ourPods(plan: Plan, engine: ContainerEngine): Promise<string[]> {
  const listed = await podmanRun(engine, ['pod', 'ps', '--format', '{{.Name}}']);
  const prefix = `${plan.container.kubeName}-pod`;
  return String(listed.stdout).split('\n').map((n) => n.trim()).filter((n) => n === prefix || (n.startsWith(prefix) && /^-\d+$/.test(n.slice(prefix.length))));
}

export async function kubeUp(plan: Plan): Promise<StepResult> {
  const file = rendered(plan, 'kube.yaml');
  requireModel(plan);
  const engine = await detectEngine(plan.container.engine);
  requirePodman(engine);
  await ensureImage(plan, engine);
  const existed = (await ourPods(plan, engine)).length > 0;
  const apiKey = serverApiKey(plan);
  if (apiKey !== undefined) {
    await podmanRun(engine, ['secret', 'rm', plan.container.kubeSecretName]);
    const secret = await podmanRun(engine, ['secret', 'create', plan.container.kubeSecretName, writeKubeSecret(plan, apiKey)]);
    if (secret.failed) throw new WorkbenchError(`podman could not create the secret ${plan.container.kubeSecretName}`, 'read the output below', { details: String(secret.all) });
  }
  const played = await podmanRun(engine, ['kube', 'play', '--replace', file]);
  if (played.failed) {
    throw new WorkbenchError(`podman kube play ${displayPath(file)} failed (exit code ${played.exitCode})`, 'read the output below', { details: String(played.all) });
  }
  // Pod and container names differ between podman releases: take the container id it prints.
  const container = /Container:\s*\n([0-9a-f]{12,})/.exec(String(played.stdout))?.[1];
  if (!container) throw new WorkbenchError('podman kube play started no container', 'read its output', { details: String(played.all) });
  await waitForServer(plan, `kube deployment ${plan.container.kubeName}`, engine, container);
  return { outcome: existed ? 'replaced' : 'created', detail: `${plan.server.baseUrl} (deployment ${plan.container.kubeName} from ${displayPath(file)})` };
}

export async function kubeDown(plan: Plan): Promise<StepResult> {
  const file = rendered(plan, 'kube.yaml');
  const engine = await detectEngine(plan.container.engine);
  requirePodman(engine);
  const existed = (await ourPods(plan, engine)).length > 0;
  if (existed) await runLogged(engine.command('kube', 'down', file), { label: 'podman kube down', logFile: join(plan.paths.stateDir, 'kube.log'), hint: 'read the log' });
  const secretRemoved = !(await podmanRun(engine, ['secret', 'rm', plan.container.kubeSecretName])).failed;
  return { outcome: existed || secretRemoved ? 'removed' : 'unchanged', detail: existed ? `removed the pod of ${displayPath(file)}` : secretRemoved ? `removed the Secret ${plan.container.kubeSecretName}` : 'nothing was running' };
}
