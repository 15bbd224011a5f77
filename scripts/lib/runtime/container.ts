/**
 * The container runtime: the guide's own route. The image is built from the rendered
 * Dockerfile (tagged by a hash of the build context, so an unchanged profile never rebuilds),
 * and the model server runs in one named container per profile, the model mounted read-only.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { offloadVerdict, readOffload, verifyOffload } from '../accelerator/offload.ts';
import { backendFor } from '../backend/index.ts';
import { detectEngine } from '../engine/index.ts';
import { removeServingRecord } from '../state/serving.ts';
import type { ContainerEngine, RunSpec } from '../engine/types.ts';
import { displayPath, WorkbenchError } from '../errors.ts';
import { describeChanges, factsFingerprint, secretFact, type Facts } from '../fingerprint.ts';
import { modelSha256 } from '../model/fetch.ts';
import type { Preview } from '../outcome.ts';
import { healthEndpointOk, modelIsListed, waitUntil } from '../process/readiness.ts';
import { drainTimeoutMs, ensurePortFree, readyTimeoutMs, waitUntilIdle, type Health } from '../process/service.ts';
import { openConnections } from '../process/sockets.ts';
import { probeHost, readOwnership, renderUnit, startUnit, stopUnit, unitState, type SystemdOwnership } from '../process/systemd.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import { statePaths } from '../state/paths.ts';
import { serverApiKey } from '../state/secrets.ts';
import { ensureImage, imageTags } from './image.ts';
import type { ServerRuntime, ServiceStatus } from './types.ts';
import type { Plan } from '../plan/index.ts';

/** make service-install's hand-over: the unit that runs this profile's container, when systemd does. */
function systemdUnit(plan: Plan): { owner: SystemdOwnership; unit: string } | undefined {
  const owner = readOwnership(plan.paths.stateDir);
  const unit = owner?.units['model-server'];
  return owner && unit ? { owner, unit } : undefined;
}

/**
 * The container as the profile's systemd unit: the engine's own run in the foreground (systemd
 * restarts it, `--rm` leaves nothing when it stops), the engine's connection settings and the API
 * key in the unit's 0600 environment file (the key reaches the container as `--env NAME`, never a
 * value on a command line), ready when /health (or the port) answers.
 */
async function startAsUnit(plan: Plan, engine: ContainerEngine, spec: RunSpec, apiKey: string | undefined, systemd: { owner: SystemdOwnership }): Promise<void> {
  const commands = engine.unitCommands(spec);
  const env: Record<string, string> = {};
  for (const name of engine.connectionEnv) if (process.env[name]) env[name] = process.env[name] as string;
  if (apiKey !== undefined) env[plan.server.apiKeyEnv] = apiKey;
  const unit = renderUnit(
    systemd.owner.profile,
    {
      service: 'model-server',
      description: `llm-workbench ${systemd.owner.profile}: model server (${engine.name} container ${spec.name})`,
      argv: commands.start,
      before: commands.before,
      stop: commands.stop,
      env,
      cwd: plan.paths.stateDir,
      logFile: statePaths(plan).serverLog,
      ready: { host: probeHost(plan.server.host), port: plan.server.port, ...(backendFor(plan).hasHealthEndpoint ? { path: '/health' } : {}) },
    },
    { unitDir: systemd.owner.unitDir, stateDir: plan.paths.stateDir },
  );
  await startUnit(unit);
}

/** Stops the unit where its file was written (make service-install may have stopped before it was). */
async function stopUnitIfLoaded(unit: string): Promise<boolean> {
  return (await unitState(unit)).load === 'loaded' ? stopUnit(unit) : false;
}

/** The container under the engine's own restart policy (no systemd). */
async function runDetached(plan: Plan, engine: ContainerEngine, spec: RunSpec, apiKey: string | undefined): Promise<void> {
  try {
    await engine.run(spec, { [plan.server.apiKeyEnv]: apiKey });
  } catch (error) {
    throw new WorkbenchError(`${engine.name} could not start ${spec.name}: ${(error as Error).message}`, `${engine.name} ps -a and ${engine.name} logs ${spec.name} show more`, { cause: error });
  }
}

const LABEL_PROFILE = 'io.llm-workbench.profile';
const LABEL_FINGERPRINT = 'io.llm-workbench.fingerprint';

export function containerRunSpec(plan: Plan, image: string, fingerprint: string, hasApiKey: boolean): RunSpec {
  return {
    name: plan.container.name,
    image,
    ports: [{ hostIp: plan.server.host, hostPort: plan.server.port, containerPort: plan.server.port }],
    volumes: [{ host: dirname(plan.model.path), container: plan.container.modelDir, readOnly: true }],
    // As in the guide: SYS_RESOURCE, and the backend's own (llama_cpp.server: no mlock, which needs a raised memlock limit).
    env: { ...plan.accelerator.serverEnv, ...plan.server.engineEnv, ...backendFor(plan).image.env },
    passEnv: hasApiKey ? [plan.server.apiKeyEnv] : [],
    capAdd: ['SYS_RESOURCE'],
    devices: plan.accelerator.containerDevice ? [plan.accelerator.containerDevice] : [],
    restart: 'unless-stopped',
    labels: { [LABEL_PROFILE]: plan.profile.name, [LABEL_FINGERPRINT]: fingerprint },
  };
}

/** It lists the model (and /health says the model is loaded, where the backend has /health). */
async function serverAnswers(plan: Plan, apiKey: string | undefined): Promise<boolean> {
  if (backendFor(plan).hasHealthEndpoint && !(await healthEndpointOk(plan.server.baseUrl))) return false;
  return modelIsListed(plan.server.baseUrl, plan.model.alias, apiKey);
}

/** As for a native server: a running container that does not answer but has requests in flight is busy. */
async function containerHealth(plan: Plan, running: boolean, peek = false): Promise<Health> {
  if (!running) return 'stopped';
  if (await serverAnswers(plan, serverApiKey(plan, process.env, peek))) return 'ready';
  return openConnections(plan.server.port) > 0 ? 'busy' : 'unresponsive';
}

/**
 * What decides whether the running container can stay: the image (by context hash), how it is
 * run, the API key (by digest) and the model's bytes. Kept in the state folder beside the
 * fingerprint label, so a plan can say what changed.
 */
function containerFacts(plan: Plan, image: string, apiKey: string | undefined, modelSha: string, unit: string | undefined): Facts {
  const spec = containerRunSpec(plan, image, '', apiKey !== undefined);
  return {
    image,
    ports: spec.ports.map((p) => `${p.hostIp}:${p.hostPort}:${p.containerPort}`).join(' '),
    volumes: spec.volumes.map((v) => `${v.host}:${v.container}${v.readOnly ? ':ro' : ''}`).join(' '),
    env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`).join(' '),
    ...(spec.devices.length ? { devices: spec.devices.join(' ') } : {}),
    'api key': secretFact(apiKey),
    'model sha256': modelSha,
    // Only under systemd: a container started before make service-install is replaced by the unit's.
    ...(unit ? { 'run by': unit } : {}),
  };
}

function factsFile(plan: Plan): string {
  return statePaths(plan).containerRecord;
}

function savedFacts(plan: Plan): Facts | undefined {
  try {
    return (JSON.parse(readFileSync(factsFile(plan), 'utf8')) as { facts?: Facts }).facts;
  } catch {
    return undefined;
  }
}

export const containerRuntime: ServerRuntime = {
  kind: 'container',

  async preview(plan): Promise<Preview> {
    const engine = await detectEngine(plan.container.engine);
    const apiKey = serverApiKey(plan, process.env, true);
    const modelSha = plan.model.sha256 ?? (existsSync(plan.model.path) ? await modelSha256(plan) : '(not downloaded yet)');
    const facts = containerFacts(plan, imageTags(plan).byHash, apiKey, modelSha, systemdUnit(plan)?.unit);
    const existing = await engine.inspect(plan.container.name);
    const health = await containerHealth(plan, existing?.running === true, true);
    if (!existing || health === 'stopped') return { action: existing ? 'replace' : 'create', why: existing ? 'the container is not running' : `a ${engine.name} container` };
    const same = existing.labels[LABEL_FINGERPRINT] === factsFingerprint(facts);
    if (same && (health === 'ready' || health === 'busy')) return { action: 'keep', why: health === 'busy' ? 'same configuration; busy serving a request' : 'same configuration, answering' };
    return { action: 'replace', why: same ? 'it does not answer' : describeChanges(savedFacts(plan), facts) };
  },

  async start(plan) {
    const engine = await detectEngine(plan.container.engine);
    const tags = imageTags(plan);
    if (!(await engine.imageExists(tags.byHash))) await ensureImage(plan, engine);
    if (!existsSync(plan.model.path)) {
      throw new WorkbenchError(`the model ${displayPath(plan.model.path)} is not there yet`, 'run make model (or make provision) first');
    }
    const apiKey = serverApiKey(plan);
    const systemd = systemdUnit(plan);
    const facts = containerFacts(plan, tags.byHash, apiKey, await modelSha256(plan), systemd?.unit);
    const print = factsFingerprint(facts);

    const existing = await engine.inspect(plan.container.name);
    const health = await containerHealth(plan, existing?.running === true);
    // A GPU build's loading report, from the container's log; a CPU build has none to read (no `logs` process per start).
    const offload = async () => (plan.accelerator.gpuLayers === undefined ? '' : verifyOffload(plan, readOffload(await engine.log(plan.container.name)), () => engine.remove(plan.container.name)));
    if (existing?.labels[LABEL_FINGERPRINT] === print && (health === 'ready' || health === 'busy')) {
      return { outcome: 'unchanged', detail: `${plan.server.baseUrl} (${engine.name} container ${plan.container.name}${health === 'busy' ? ', busy serving a request: left alone' : ''})${await offload()}` };
    }
    // llama-server answers while it streams: wait for requests in flight whether busy or ready.
    if (health === 'busy' || health === 'ready') await waitUntilIdle(`container ${plan.container.name}`, plan.server.port, drainTimeoutMs());
    if (existing) {
      // systemd would start a unit's container again the moment the engine removed it (Restart=on-failure): the unit stops first.
      if (systemd) await stopUnitIfLoaded(systemd.unit);
      await engine.remove(plan.container.name);
    }
    // The engine's port forwarder of the container just removed may still hold the port a moment.
    await ensurePortFree(plan.server.host, plan.server.port, 'server.port', plan, existing !== undefined);

    const spec = containerRunSpec(plan, tags.byHash, print, apiKey !== undefined);
    if (systemd) await startAsUnit(plan, engine, spec, apiKey, systemd);
    else await runDetached(plan, engine, spec, apiKey);
    writeFileAtomic(factsFile(plan), `${JSON.stringify({ fingerprint: print, facts }, null, 2)}\n`);
    await waitUntil(() => serverAnswers(plan, apiKey), {
      what: `model server container ${plan.container.name}`,
      timeoutMs: readyTimeoutMs(),
      logName: `${engine.name} logs ${plan.container.name}`,
      logTail: () => engine.logs(plan.container.name, 30),
      isAlive: async () => (await engine.inspect(plan.container.name))?.running === true,
      logsHint: `make logs shows more; the container is kept for inspection until make down`,
    });
    return { outcome: existing ? 'replaced' : 'created', detail: `${plan.server.baseUrl} (${engine.name} container ${plan.container.name})${await offload()}` };
  },

  async servingHandle(plan) {
    const engine = await detectEngine(plan.container.engine);
    return { kind: 'container' as const, engine: engine.name, binary: engine.binary, name: plan.container.name };
  },

  hasRecord(plan) {
    return existsSync(factsFile(plan));
  },

  describe(plan) {
    return `${plan.container.engine === 'auto' ? 'container' : `${plan.container.engine} container`} ${plan.container.name}`;
  },

  async stop(plan) {
    let engine: ContainerEngine;
    try {
      engine = await detectEngine(plan.container.engine);
    } catch {
      return false; // No engine answers, so none of our containers can be running.
    }
    // A unit's container goes when the unit stops (--rm); stopped by its engine, systemd would start it again.
    const systemd = systemdUnit(plan);
    const stoppedUnit = systemd ? await stopUnitIfLoaded(systemd.unit) : false;
    const removed = (await engine.remove(plan.container.name)) || stoppedUnit;
    rmSync(factsFile(plan), { force: true });
    removeServingRecord(plan.paths.stateDir);
    return removed;
  },

  async status(plan): Promise<ServiceStatus> {
    const base = { service: 'model-server', url: plan.server.baseUrl };
    let engine: ContainerEngine;
    try {
      engine = await detectEngine(plan.container.engine);
    } catch (error) {
      return { ...base, health: 'stopped', note: (error as Error).message };
    }
    const info = await engine.inspect(plan.container.name);
    const health = await containerHealth(plan, info?.running === true);
    const offload = health === 'stopped' || plan.accelerator.gpuLayers === undefined ? undefined : offloadVerdict(plan.accelerator, readOffload(await engine.log(plan.container.name)));
    return { ...base, ...(info ? { pid: `${engine.name}:${plan.container.name}` } : {}), health, ...(offload ? { note: offload.line } : {}) };
  },

  async logs(plan, lines) {
    const engine = await detectEngine(plan.container.engine);
    return engine.logs(plan.container.name, lines);
  },
};
