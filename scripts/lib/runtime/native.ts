/**
 * The native runtime: `python serve.py` (llama_cpp.server with pooled embeddings) from the
 * profile's env, in the background with a record and a log in the state directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { displayPath, WorkbenchError } from '../errors.ts';
import { fingerprint, secretDigest, sha256Hex } from '../fingerprint.ts';
import type { Plan } from '../profile/plan.ts';
import { readRecord, stopService } from '../process/background.ts';
import { logTail } from '../process/log-tail.ts';
import { requirePythonEnv, type PythonEnv } from '../llama-cpp/python-env.ts';
import { modelIsListed } from '../process/readiness.ts';
import { serverArgs } from '../llama-cpp/server-args.ts';
import { baseEnv, ensureBackgroundService, serviceHealth } from '../process/service.ts';
import { statePaths } from '../state/paths.ts';
import { serverApiKey } from '../state/secrets.ts';
import { modelSha256 } from '../model/fetch.ts';
import type { ServerRuntime, ServiceStatus } from './types.ts';

export interface NativeServerFacts {
  argv: string[];
  env: Record<string, string>;
  apiKey: string | undefined;
  pythonEnv: Pick<PythonEnv, 'prefix' | 'fingerprint'>;
  launcherText: string;
  modelSha256: string;
}

/**
 * Everything that changes what the native server runs: its argv and environment (the key by
 * digest), the llama-cpp-python version and build flags, the env it runs in, the launcher's
 * code and the model's bytes. A change to any of them restarts it; nothing else does.
 */
export function nativeServerFingerprint(plan: Plan, facts: NativeServerFacts): string {
  const { API_KEY: _secret, ...env } = facts.env;
  return fingerprint({
    argv: facts.argv,
    env,
    apiKey: secretDigest(facts.apiKey),
    llamaCpp: { version: plan.llamaCpp.version, cmakeArgs: plan.llamaCpp.hostCmakeArgs },
    pythonEnv: facts.pythonEnv,
    launcher: sha256Hex(facts.launcherText),
    model: facts.modelSha256,
  });
}

async function health(plan: Plan) {
  const record = readRecord(statePaths(plan).serverRecord);
  return { record, health: await serviceHealth(record, plan.server.port, () => modelIsListed(plan.server.baseUrl, plan.model.alias, serverApiKey(plan))) };
}

export const nativeRuntime: ServerRuntime = {
  kind: 'native',

  async start(plan) {
    const paths = statePaths(plan);
    const pythonEnv = requirePythonEnv(plan);
    if (!existsSync(plan.model.path)) {
      throw new WorkbenchError(`the model ${displayPath(plan.model.path)} is not there yet`, 'run make model (or make provision) first');
    }
    const apiKey = serverApiKey(plan);
    const argv = [pythonEnv.python, plan.paths.launcher, ...serverArgs(plan, { modelPath: plan.model.path, bindHost: true })];
    // HOST and PORT are set on purpose: llama_cpp.server lets them override --host/--port.
    // The API key travels here, never on the command line where ps shows it.
    const env = baseEnv({ HOST: plan.server.host, PORT: String(plan.server.port), API_KEY: apiKey });
    const print = nativeServerFingerprint(plan, {
      argv,
      env,
      apiKey,
      pythonEnv,
      launcherText: readFileSync(plan.paths.launcher, 'utf8'),
      modelSha256: await modelSha256(plan),
    });

    const { outcome, record, health: state } = await ensureBackgroundService(plan, {
      what: `model server on ${plan.server.host}:${plan.server.port}`,
      service: 'model-server',
      argv,
      env,
      cwd: plan.paths.stateDir,
      recordFile: paths.serverRecord,
      logFile: paths.serverLog,
      fingerprint: print,
      url: plan.server.baseUrl,
      port: { host: plan.server.host, port: plan.server.port, field: 'server.port' },
      isReady: () => modelIsListed(plan.server.baseUrl, plan.model.alias, apiKey),
      logsHint: `make logs shows the whole log (${paths.serverLog}); check model.file and llama_cpp.version in the profile`,
    });
    return { outcome, detail: `${plan.server.baseUrl} (pid ${record.pid}${state === 'busy' ? ', busy serving a request: left alone' : ''})` };
  },

  async stop(plan) {
    return stopService(statePaths(plan).serverRecord);
  },

  async status(plan): Promise<ServiceStatus> {
    const { record, health: state } = await health(plan);
    return { service: 'model-server', ...(state !== 'stopped' && record ? { pid: record.pid } : {}), url: plan.server.baseUrl, health: state };
  },

  async logs(plan, lines) {
    return logTail(statePaths(plan).serverLog, lines);
  },
};
