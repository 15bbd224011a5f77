/**
 * The native runtime: the plan's server command (llama-server, or our launcher for
 * llama_cpp.server under the profile's env) in the background, with a record and a log in the
 * state directory.
 */
import { existsSync } from 'node:fs';
import { backendFor } from '../backend/index.ts';
import { displayPath, WorkbenchError } from '../errors.ts';
import { assertWorkersAnswer, droppedWorkers, workersSpread } from '../rpc/workers.ts';
import { argvFacts, envFacts, secretFact, type Facts } from '../fingerprint.ts';
import { expectedPythonEnv } from '../python-env/index.ts';
import { modelSha256 } from '../model/fetch.ts';
import type { Preview } from '../outcome.ts';
import { thisWsl } from '../machine/platform.ts';
import { currentBootId, readRecord, stopService } from '../process/background.ts';
import { removeServingRecord } from '../state/serving.ts';
import { stoppedDetails } from '../process/why-stopped.ts';
import { logTail } from '../process/log-tail.ts';
import { healthEndpointOk, modelsAreLoaded } from '../process/readiness.ts';
import { offloadVerdict, readOffloadFromLog, verifyOffload } from '../accelerator/offload.ts';
import { baseEnv, ensureBackgroundService, previewBackgroundService, serviceHealth, type BackgroundService } from '../process/service.ts';
import { statePaths } from '../state/paths.ts';
import { serverApiKey } from '../state/secrets.ts';
import type { ServerRuntime, ServiceStatus } from './types.ts';
import type { Plan } from '../plan/index.ts';
import { requirePythonEnv } from '../state/python-env.ts';

export interface NativeServerInputs {
  argv: string[];
  env: Record<string, string>;
  apiKey: string | undefined;
  /** The fingerprint of the Python env it runs in (none for a server without Python). */
  pythonEnv?: string;
  /** Each served model's sha256, space-separated (one model: its sha256). */
  modelSha256: string;
}

/**
 * Everything that changes what the native server runs: its argv and environment (the key by
 * digest), the env it runs in, the model's bytes, and what its backend adds (the build, the
 * launcher's code, a config file). A change to any of them restarts it; nothing else does. PATH
 * is left out: it differs from shell to shell (an activated conda env) without changing what runs.
 */
export function nativeServerFacts(plan: Plan, inputs: NativeServerInputs): Facts {
  const backend = backendFor(plan);
  return {
    ...argvFacts(inputs.argv, ['program', ...(plan.python.serverModules.length ? ['launcher'] : [])]),
    ...envFacts(inputs.env, [backend.apiKeyEnv, 'PATH']),
    'api key': secretFact(inputs.apiKey),
    ...(inputs.pythonEnv ? { 'python env': inputs.pythonEnv } : {}),
    'model sha256': inputs.modelSha256,
    ...backend.nativeFacts(plan),
  };
}

/** Ready when /health says so (where the backend has it) and /v1/models lists every alias. */
function serverReady(plan: Plan, apiKey: string | undefined): () => Promise<boolean> {
  const health = backendFor(plan).hasHealthEndpoint;
  return async () => (!health || (await healthEndpointOk(plan.server.baseUrl))) && modelsAreLoaded(plan.server.baseUrl, plan.models.map((m) => m.alias), apiKey);
}

/**
 * The service the plan asks for: the plan's server command, the backend's environment (the key
 * travels there, never on the command line where ps shows it).
 */
function serverService(plan: Plan, pythonEnv: string | undefined, modelSha: string, peek = false): BackgroundService {
  const paths = statePaths(plan);
  const backend = backendFor(plan);
  const apiKey = serverApiKey(plan, process.env, peek);
  const { argv, files } = plan.server.command;
  const env = baseEnv({ ...plan.accelerator.serverEnv, ...plan.server.engineEnv, ...backend.nativeEnv(plan, apiKey) });
  return {
    service: 'model-server',
    cwd: plan.paths.stateDir,
    recordFile: paths.serverRecord,
    logFile: paths.serverLog,
    url: plan.server.baseUrl,
    port: { host: plan.server.host, port: plan.server.port, field: 'server.port' },
    what: `${backend.label} on ${plan.server.host}:${plan.server.port}`,
    argv,
    env,
    facts: nativeServerFacts(plan, { argv, env, apiKey, ...(pythonEnv ? { pythonEnv } : {}), modelSha256: modelSha }),
    files,
    isReady: serverReady(plan, apiKey),
    ...(backend.hasHealthEndpoint ? { probePath: '/health' } : {}),
    // llama-server aborts at start on a worker it cannot reach: each is asked first, and named.
    ...(plan.distributed?.workers.length ? { beforeStart: () => assertWorkersAnswer(plan) } : {}),
    logsHint: `make logs shows the whole log (${paths.serverLog}); check model.file, model.chat_format and llama_cpp.version in the profile`,
  };
}

/** A server that runs under the profile's Python env: the env must exist, and be the one the plan names. */
function checkedPythonEnv(plan: Plan): string | undefined {
  if (!plan.python.serverModules.length) return undefined;
  const env = requirePythonEnv(plan);
  if (env.python !== plan.python.interpreter) {
    throw new WorkbenchError(`the plan runs the server under ${plan.python.interpreter}, but the profile's env is at ${env.python}`, 'run make provision again (the env moved since this plan was made)');
  }
  return env.fingerprint;
}

export const nativeRuntime: ServerRuntime = {
  kind: 'native',

  async preview(plan): Promise<Preview> {
    const pythonEnv = plan.python.serverModules.length ? (await expectedPythonEnv(plan)).fingerprint : undefined;
    const shas = await Promise.all(plan.models.map(async (model) => model.sha256 ?? (existsSync(model.path) ? await modelSha256(plan, model) : '(not downloaded yet)')));
    return previewBackgroundService(serverService(plan, pythonEnv, shas.join(' '), true));
  },

  async start(plan) {
    // make server run alone builds what it runs (cached: nothing to do; step 15 built it in a provision).
    await backendFor(plan).hostBuild.ensure(plan);
    const pythonEnv = checkedPythonEnv(plan);
    const missing = plan.models.find((model) => !existsSync(model.path));
    if (missing) {
      throw new WorkbenchError(`the model ${displayPath(missing.path)} is not there yet`, 'run make model (or make provision) first');
    }
    const shas = await Promise.all(plan.models.map((model) => modelSha256(plan, model)));
    const service = serverService(plan, pythonEnv, shas.join(' '));
    const { outcome, record, health, replacedBecause } = await ensureBackgroundService(plan, service);
    const note = health === 'busy' ? ', busy serving a request: left alone' : replacedBecause ? `; replaced: ${replacedBecause}` : '';
    const gpu = await verifyOffload(plan, readOffloadFromLog(statePaths(plan).serverLog), () => stopService(statePaths(plan).serverRecord));
    const spread = workersSpread(plan);
    return { outcome, detail: `${plan.server.baseUrl} (pid ${record.pid}${note})${gpu}${spread ? `; ${spread.line}` : ''}` };
  },

  async servingHandle(plan) {
    const record = readRecord(statePaths(plan).serverRecord);
    return record ? { kind: 'process' as const, pid: record.pid, startTime: record.startTime } : undefined;
  },

  hasRecord(plan) {
    return existsSync(statePaths(plan).serverRecord);
  },

  describe(plan) {
    const record = readRecord(statePaths(plan).serverRecord);
    return `native server${record ? ` (pid ${record.pid})` : ''}`;
  },

  async stop(plan) {
    removeServingRecord(plan.paths.stateDir);
    return stopService(statePaths(plan).serverRecord);
  },

  async status(plan): Promise<ServiceStatus> {
    const record = readRecord(statePaths(plan).serverRecord);
    const health = await serviceHealth(record, plan.server.port, serverReady(plan, serverApiKey(plan)));
    const why = stoppedDetails(record, health !== 'stopped', { bootId: currentBootId(), wsl: thisWsl() !== undefined }, (lines) => logTail(statePaths(plan).serverLog, lines));
    const offload = health === 'stopped' || plan.accelerator.gpuLayers === undefined ? undefined : offloadVerdict(plan.accelerator, readOffloadFromLog(statePaths(plan).serverLog));
    // Its RPC workers: how the model is spread while it runs; which one dropped once it ended.
    const rpc = health === 'stopped' ? (why.stopped ? await droppedWorkers(plan) : undefined) : workersSpread(plan)?.line;
    const note = [offload?.line, rpc].filter(Boolean).join('; ');
    return { service: 'model-server', ...(health !== 'stopped' && record ? { pid: record.pid } : {}), url: plan.server.baseUrl, health, ...why, ...(note ? { note } : {}) };
  },

  async logs(plan, lines) {
    return logTail(statePaths(plan).serverLog, lines);
  },
};
