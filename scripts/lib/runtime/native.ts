/**
 * The native runtime: `python serve.py` (llama_cpp.server with pooled embeddings) from the
 * profile's env, in the background with a record and a log in the state directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { displayPath, WorkbenchError } from '../errors.ts';
import { argvFacts, configFacts, envFacts, secretFact, sha256Hex, type Facts } from '../fingerprint.ts';
import { expectedPythonEnv, readPythonEnv, requirePythonEnv } from '../llama-cpp/python-env.ts';
import { hostBuild } from '../llama-cpp/host-build.ts';
import { routerPresetSections } from '../llama-cpp/llama-server-args.ts';
import { serverConfig } from '../llama-cpp/server-args.ts';
import { hostServerCommand } from '../llama-cpp/server-command.ts';
import { modelSha256 } from '../model/fetch.ts';
import type { Preview } from '../outcome.ts';
import { thisWsl } from '../doctor/platform.ts';
import { currentBootId, readRecord, stopService } from '../process/background.ts';
import { stoppedDetails } from '../process/why-stopped.ts';
import { logTail } from '../process/log-tail.ts';
import { healthEndpointOk, modelsAreLoaded } from '../process/readiness.ts';
import { baseEnv, ensureBackgroundService, previewBackgroundService, serviceHealth, type BackgroundService } from '../process/service.ts';
import type { Plan } from '../profile/plan.ts';
import { statePaths } from '../state/paths.ts';
import { serverApiKey } from '../state/secrets.ts';
import type { ServerRuntime, ServiceStatus } from './types.ts';

export interface NativeServerInputs {
  argv: string[];
  env: Record<string, string>;
  apiKey: string | undefined;
  /** The fingerprint of the Python env it runs in. */
  pythonEnv: string;
  launcherText: string;
  /** Each served model's sha256, space-separated (one model: its sha256). */
  modelSha256: string;
  /** The config file it reads (several models), as flat facts. */
  config?: Facts;
}

/**
 * Everything that changes what the native server runs: its argv and environment (the key by
 * digest), the llama-cpp-python version and build flags, the env it runs in, the launcher's
 * code and the model's bytes. A change to any of them restarts it; nothing else does. PATH is
 * left out: it differs from shell to shell (an activated conda env) without changing what runs.
 */
export function nativeServerFacts(plan: Plan, inputs: NativeServerInputs): Facts {
  return {
    ...argvFacts(inputs.argv, ['python', 'launcher']),
    ...envFacts(inputs.env, ['API_KEY', 'PATH']),
    'api key': secretFact(inputs.apiKey),
    'llama_cpp.version': plan.llamaCpp.version,
    'llama.cpp cmake args': plan.llamaCpp.hostCmakeArgs,
    'python env': inputs.pythonEnv,
    'launcher sha256': sha256Hex(inputs.launcherText).slice(0, 16),
    'model sha256': inputs.modelSha256,
    ...inputs.config,
  };
}

/** Every served alias is listed (and, under llama-server's router, loaded). */
function modelsReady(plan: Plan, apiKey: string | undefined): () => Promise<boolean> {
  return () => modelsAreLoaded(plan.server.baseUrl, plan.models.map((m) => m.alias), apiKey);
}

/** What both backends' services share: where they are recorded and logged, their URL and port. */
function serverRecordFields(plan: Plan) {
  const paths = statePaths(plan);
  return {
    service: 'model-server',
    cwd: plan.paths.stateDir,
    recordFile: paths.serverRecord,
    logFile: paths.serverLog,
    url: plan.server.baseUrl,
    port: { host: plan.server.host, port: plan.server.port, field: 'server.port' },
  };
}

/** The service a plan asks for; `python` and `pythonEnv` are those of the env a run would use. */
function serverService(plan: Plan, python: string, pythonEnv: string, modelSha: string, peek = false): BackgroundService {
  if (plan.server.backend === 'llama-server') return llamaServerService(plan, modelSha, peek);
  const paths = statePaths(plan);
  const apiKey = serverApiKey(plan, process.env, peek);
  const config = plan.models.length > 1 ? serverConfig(plan) : undefined;
  const { argv, files } = hostServerCommand(plan, python);
  // HOST and PORT are set on purpose: llama_cpp.server lets them override --host/--port.
  // The API key travels here, never on the command line where ps shows it.
  const env = baseEnv({ HOST: plan.server.host, PORT: String(plan.server.port), API_KEY: apiKey });
  const launcherText = readFileSync(plan.paths.launcher, 'utf8');
  return {
    ...serverRecordFields(plan),
    what: `model server on ${plan.server.host}:${plan.server.port}`,
    argv,
    env,
    facts: nativeServerFacts(plan, { argv, env, apiKey, pythonEnv, launcherText, modelSha256: modelSha, ...(config ? { config: configFacts(config) } : {}) }),
    files,
    isReady: modelsReady(plan, apiKey),
    logsHint: `make logs shows the whole log (${paths.serverLog}); check model.file and llama_cpp.version in the profile`,
  };
}

/**
 * llama.cpp's own server (server.backend: llama-server), built from the same pinned source: its
 * facts are its argv and environment (the key by digest, as LLAMA_API_KEY), the build and the
 * model's bytes. Ready when /health says so and /v1/models lists the alias.
 */
function llamaServerService(plan: Plan, modelSha: string, peek: boolean): BackgroundService {
  const paths = statePaths(plan);
  const apiKey = serverApiKey(plan, process.env, peek);
  const preset = plan.models.length > 1;
  const { argv, files } = hostServerCommand(plan);
  const env = baseEnv({ LLAMA_API_KEY: apiKey });
  return {
    ...serverRecordFields(plan),
    what: `llama-server on ${plan.server.host}:${plan.server.port}`,
    argv,
    env,
    facts: {
      ...argvFacts(argv, ['llama-server']),
      ...envFacts(env, ['LLAMA_API_KEY', 'PATH']),
      'api key': secretFact(apiKey),
      'llama.cpp build': hostBuild(plan),
      'model sha256': modelSha,
      ...(preset ? configFacts(routerPresetSections(plan), 'presets') : {}),
    },
    files,
    isReady: async () => (await healthEndpointOk(plan.server.baseUrl)) && (await modelsReady(plan, apiKey)()),
    logsHint: `make logs shows the whole log (${paths.serverLog}); check model.file and model.chat_format in the profile`,
  };
}

export const nativeRuntime: ServerRuntime = {
  kind: 'native',

  async preview(plan): Promise<Preview> {
    const expected = await expectedPythonEnv(plan);
    const current = readPythonEnv(plan);
    const python = current?.python ?? join(plan.python.venvDir, 'bin', 'python');
    const shas = await Promise.all(plan.models.map(async (model) => model.sha256 ?? (existsSync(model.path) ? await modelSha256(plan, model) : '(not downloaded yet)')));
    return previewBackgroundService(serverService(plan, python, expected.fingerprint, shas.join(' '), true));
  },

  async start(plan) {
    const pythonEnv = requirePythonEnv(plan);
    const missing = plan.models.find((model) => !existsSync(model.path));
    if (missing) {
      throw new WorkbenchError(`the model ${displayPath(missing.path)} is not there yet`, 'run make model (or make provision) first');
    }
    const shas = await Promise.all(plan.models.map((model) => modelSha256(plan, model)));
    const service = serverService(plan, pythonEnv.python, pythonEnv.fingerprint, shas.join(' '));
    const { outcome, record, health, replacedBecause } = await ensureBackgroundService(plan, service);
    const note = health === 'busy' ? ', busy serving a request: left alone' : replacedBecause ? `; replaced: ${replacedBecause}` : '';
    return { outcome, detail: `${plan.server.baseUrl} (pid ${record.pid}${note})` };
  },

  hasRecord(plan) {
    return existsSync(statePaths(plan).serverRecord);
  },

  describe(plan) {
    const record = readRecord(statePaths(plan).serverRecord);
    return `native server${record ? ` (pid ${record.pid})` : ''}`;
  },

  async stop(plan) {
    return stopService(statePaths(plan).serverRecord);
  },

  async status(plan): Promise<ServiceStatus> {
    const record = readRecord(statePaths(plan).serverRecord);
    const health = await serviceHealth(record, plan.server.port, modelsReady(plan, serverApiKey(plan)));
    const why = stoppedDetails(record, health !== 'stopped', { bootId: currentBootId(), wsl: thisWsl() !== undefined }, (lines) => logTail(statePaths(plan).serverLog, lines));
    return { service: 'model-server', ...(health !== 'stopped' && record ? { pid: record.pid } : {}), url: plan.server.baseUrl, health, ...why };
  },

  async logs(plan, lines) {
    return logTail(statePaths(plan).serverLog, lines);
  },
};
