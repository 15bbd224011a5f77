/**
 * The container runtime: the guide's own route. The image is built from the rendered
 * Dockerfile (tagged by a hash of the build context, so an unchanged profile never rebuilds),
 * and the model server runs in one named container per profile, the model mounted read-only.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { detectEngine } from '../engine/index.ts';
import type { BuildSpec, ContainerEngine, RunSpec } from '../engine/types.ts';
import { displayPath, WorkbenchError } from '../errors.ts';
import { fingerprint, secretDigest } from '../fingerprint.ts';
import { modelSha256 } from '../model/fetch.ts';
import type { Plan } from '../profile/plan.ts';
import { modelIsListed, waitUntil } from '../process/readiness.ts';
import { serverApiKey } from '../state/secrets.ts';
import type { StepResult } from '../step.ts';
import { drainTimeoutMs, ensurePortFree, readyTimeoutMs, waitUntilIdle, type Health } from '../process/service.ts';
import { openConnections } from '../process/sockets.ts';
import type { ServerRuntime, ServiceStatus } from './types.ts';

const LABEL_PROFILE = 'io.llm-workbench.profile';
const LABEL_FINGERPRINT = 'io.llm-workbench.fingerprint';

/** The image tags for the rendered build context: one by content hash, one by profile name. */
export function imageTags(plan: Plan): { byHash: string; byProfile: string } {
  const context = plan.paths.buildDir;
  const dockerfile = join(context, 'Dockerfile');
  if (!existsSync(dockerfile)) throw new WorkbenchError(`${displayPath(dockerfile)} is missing`, 'run make render first');
  const hash = createHash('sha256');
  for (const file of ['Dockerfile', 'serve.py']) hash.update(`${file}\0`).update(readFileSync(join(context, file)));
  return {
    byHash: `localhost/${plan.container.image}:${hash.digest('hex').slice(0, 12)}`,
    byProfile: `localhost/${plan.container.image}:${plan.profile.name}`,
  };
}

/**
 * The host's CA bundle, handed to the build as a secret: pip inside the build then trusts what
 * the host trusts (a TLS-inspecting proxy's CA included), without it entering the image.
 */
export function hostCaBundle(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env.PIP_CERT, env.SSL_CERT_FILE, env.REQUESTS_CA_BUNDLE, '/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];
  return candidates.find((file) => file !== undefined && file !== '' && existsSync(file));
}

export function buildSecrets(): Record<string, string> {
  const ca = hostCaBundle();
  return ca ? { 'ca-bundle': ca } : {};
}

/**
 * `--network` for build steps, from LLM_WORKBENCH_BUILD_NETWORK: `host` where containers on the
 * default bridge have no DNS (a Docker daemon run with --iptables=false). Unset: the engine's default.
 */
export function buildNetwork(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const network = env.LLM_WORKBENCH_BUILD_NETWORK;
  if (network === undefined || network === '') return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(network)) {
    throw new WorkbenchError(`LLM_WORKBENCH_BUILD_NETWORK is "${network}", not a network name`, 'use host, or a network your engine lists (docker network ls)');
  }
  return network;
}

/** How an image of this plan is built: the same for the server image and the JupyterLab one. */
export function buildSpec(plan: Plan, tags: string[], target: 'server' | 'jupyter'): BuildSpec {
  const network = buildNetwork();
  return { context: plan.paths.buildDir, tags, target, secrets: buildSecrets(), ...(network ? { network } : {}), logFile: join(plan.paths.stateDir, 'image-build.log') };
}

function megabytes(bytes: number | undefined): string {
  return bytes === undefined ? 'size unknown' : `${Math.round(bytes / 1e6)} MB`;
}

/** Builds the server image unless an image of this exact build context exists. */
export async function ensureImage(plan: Plan, engine?: ContainerEngine): Promise<StepResult> {
  const eng = engine ?? (await detectEngine(plan));
  const tags = imageTags(plan);
  if (await eng.imageExists(tags.byHash)) {
    return { outcome: 'unchanged', detail: `${tags.byHash} (${megabytes(await eng.imageSize(tags.byHash))}, ${eng.name})` };
  }
  if (!(await eng.imageExists(plan.container.base))) {
    const complaint = await eng.pull(plan.container.base);
    if (complaint !== undefined) {
      throw new WorkbenchError(
        `the base image ${plan.container.base} (container.base) is not on this machine and cannot be pulled: ${complaint}`,
        `set container.base in ${plan.profile.files[plan.profile.files.length - 1]} to an image you have (${eng.name} images lists them), ` +
          `or make one without a registry: debootstrap --variant=minbase bookworm DIR && tar -C DIR -c . | ${eng.name} import - localhost/debian-base:bookworm`,
      );
    }
  }
  const replacing = await eng.imageExists(tags.byProfile);
  console.log(`  building ${tags.byHash} with ${eng.name} from ${displayPath(plan.paths.buildDir)}/Dockerfile (base ${plan.container.base})`);
  await eng.build(buildSpec(plan, [tags.byHash, tags.byProfile], 'server'));
  return { outcome: replacing ? 'replaced' : 'created', detail: `${tags.byHash} (${megabytes(await eng.imageSize(tags.byHash))}, ${eng.name})` };
}

export function containerRunSpec(plan: Plan, image: string, fingerprint: string, hasApiKey: boolean): RunSpec {
  return {
    name: plan.container.name,
    image,
    ports: [{ hostIp: plan.server.host, hostPort: plan.server.port, containerPort: plan.server.port }],
    volumes: [{ host: dirname(plan.model.path), container: plan.container.modelDir, readOnly: true }],
    // As in the guide: no mlock (it needs a raised memlock limit) and SYS_RESOURCE.
    env: { USE_MLOCK: '0' },
    passEnv: hasApiKey ? ['API_KEY'] : [],
    capAdd: ['SYS_RESOURCE'],
    restart: 'unless-stopped',
    labels: { [LABEL_PROFILE]: plan.profile.name, [LABEL_FINGERPRINT]: fingerprint },
  };
}

/** As for a native server: a running container that does not answer but has requests in flight is busy. */
async function containerHealth(plan: Plan, running: boolean): Promise<Health> {
  if (!running) return 'stopped';
  if (await modelIsListed(plan.server.baseUrl, plan.model.alias, serverApiKey(plan))) return 'ready';
  return openConnections(plan.server.port) > 0 ? 'busy' : 'unresponsive';
}

export const containerRuntime: ServerRuntime = {
  kind: 'container',

  async start(plan) {
    const engine = await detectEngine(plan);
    const tags = imageTags(plan);
    if (!(await engine.imageExists(tags.byHash))) await ensureImage(plan, engine);
    if (!existsSync(plan.model.path)) {
      throw new WorkbenchError(`the model ${displayPath(plan.model.path)} is not there yet`, 'run make model (or make provision) first');
    }
    const apiKey = serverApiKey(plan);
    const print = fingerprint({
      image: tags.byHash,
      spec: containerRunSpec(plan, tags.byHash, '', apiKey !== undefined),
      apiKey: secretDigest(apiKey),
      model: await modelSha256(plan),
    });

    const existing = await engine.inspect(plan.container.name);
    const health = await containerHealth(plan, existing?.running === true);
    if (existing?.labels[LABEL_FINGERPRINT] === print && (health === 'ready' || health === 'busy')) {
      return { outcome: 'unchanged', detail: `${plan.server.baseUrl} (${engine.name} container ${plan.container.name}${health === 'busy' ? ', busy serving a request: left alone' : ''})` };
    }
    if (health === 'busy') await waitUntilIdle(`container ${plan.container.name}`, plan.server.port, drainTimeoutMs());
    if (existing) await engine.remove(plan.container.name);
    await ensurePortFree(plan.server.host, plan.server.port, 'server.port', plan);

    try {
      await engine.run(containerRunSpec(plan, tags.byHash, print, apiKey !== undefined), { API_KEY: apiKey });
    } catch (error) {
      throw new WorkbenchError(`${engine.name} could not start ${plan.container.name}: ${(error as Error).message}`, `${engine.name} ps -a and ${engine.name} logs ${plan.container.name} show more`, { cause: error });
    }
    await waitUntil(() => modelIsListed(plan.server.baseUrl, plan.model.alias, apiKey), {
      what: `model server container ${plan.container.name}`,
      timeoutMs: readyTimeoutMs(),
      logName: `${engine.name} logs ${plan.container.name}`,
      logTail: () => engine.logs(plan.container.name, 30),
      isAlive: async () => (await engine.inspect(plan.container.name))?.running === true,
      logsHint: `make logs shows more; the container is kept for inspection until make down`,
    });
    return { outcome: existing ? 'replaced' : 'created', detail: `${plan.server.baseUrl} (${engine.name} container ${plan.container.name})` };
  },

  async stop(plan) {
    let engine: ContainerEngine;
    try {
      engine = await detectEngine(plan);
    } catch {
      return false; // No engine answers, so none of our containers can be running.
    }
    return engine.remove(plan.container.name);
  },

  async status(plan): Promise<ServiceStatus> {
    const base = { service: 'model-server', url: plan.server.baseUrl };
    let engine: ContainerEngine;
    try {
      engine = await detectEngine(plan);
    } catch (error) {
      return { ...base, health: 'stopped', note: (error as Error).message };
    }
    const info = await engine.inspect(plan.container.name);
    const health = await containerHealth(plan, info?.running === true);
    return { ...base, ...(info ? { pid: `${engine.name}:${plan.container.name}` } : {}), health };
  },

  async logs(plan, lines) {
    const engine = await detectEngine(plan);
    return engine.logs(plan.container.name, lines);
  },
};
