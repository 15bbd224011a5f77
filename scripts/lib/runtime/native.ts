/**
 * The native runtime: `python serve.py` (llama_cpp.server with pooled embeddings) from the
 * profile's env, in the background with a record and a log in the state directory.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { WorkbenchError } from '../errors.ts';
import { displayPath } from '../profile/load.ts';
import type { Plan } from '../profile/plan.ts';
import { isOurs, logTail, readRecord, stopService } from '../process.ts';
import { requirePythonEnv } from '../python-env.ts';
import { modelIsListed } from '../readiness.ts';
import { serverArgs } from '../server-args.ts';
import { baseEnv, ensureBackgroundService } from '../service.ts';
import { serverApiKey, statePaths } from '../state.ts';
import type { ServerRuntime, ServiceStatus } from './types.ts';

export const nativeRuntime: ServerRuntime = {
  kind: 'native',

  async start(plan) {
    const paths = statePaths(plan);
    const env = requirePythonEnv(plan);
    if (!existsSync(plan.model.path)) {
      throw new WorkbenchError(`the model ${displayPath(plan.model.path)} is not there yet`, 'run make model (or make provision) first');
    }
    const apiKey = serverApiKey(plan);
    const argv = [env.python, plan.paths.launcher, ...serverArgs(plan, { modelPath: plan.model.path, bindHost: true })];
    const model = statSync(plan.model.path);
    const fingerprint = createHash('sha256')
      .update(JSON.stringify({ argv, apiKey: apiKey ? createHash('sha256').update(apiKey).digest('hex') : null, model: [model.size, model.mtimeMs] }))
      .digest('hex')
      .slice(0, 16);

    const { outcome, record } = await ensureBackgroundService(plan, {
      what: `model server on ${plan.server.host}:${plan.server.port}`,
      service: 'model-server',
      argv,
      // HOST and PORT are set on purpose: llama_cpp.server lets them override --host/--port.
      // The API key travels here, never on the command line where ps shows it.
      env: baseEnv({ HOST: plan.server.host, PORT: String(plan.server.port), API_KEY: apiKey }),
      cwd: plan.paths.stateDir,
      recordFile: paths.serverRecord,
      logFile: paths.serverLog,
      fingerprint,
      url: plan.server.baseUrl,
      port: { host: plan.server.host, port: plan.server.port, field: 'server.port' },
      isReady: () => modelIsListed(plan.server.baseUrl, plan.model.alias, apiKey),
      logsHint: `make logs shows the whole log (${paths.serverLog}); check model.file and llama_cpp.version in the profile`,
    });
    return { outcome, detail: `${plan.server.baseUrl} (pid ${record.pid})` };
  },

  async stop(plan) {
    return stopService(statePaths(plan).serverRecord);
  },

  async status(plan): Promise<ServiceStatus> {
    const record = readRecord(statePaths(plan).serverRecord);
    const running = isOurs(record);
    let healthy = false;
    if (running) {
      try {
        healthy = await modelIsListed(plan.server.baseUrl, plan.model.alias, serverApiKey(plan));
      } catch {
        healthy = false;
      }
    }
    return { service: 'model-server', ...(running ? { pid: record.pid } : {}), url: plan.server.baseUrl, running, healthy };
  },

  async logs(plan, lines) {
    return logTail(statePaths(plan).serverLog, lines);
  },
};
