/**
 * The native runtime: `python serve.py` (llama_cpp.server with pooled embeddings) from the
 * profile's env, in the background with a record and a log in the state directory.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { WorkbenchError } from '../errors.ts';
import { isPortFree } from '../ports.ts';
import { displayPath } from '../profile/load.ts';
import type { Plan } from '../profile/plan.ts';
import { isOurs, logTail, readRecord, startService, stopService } from '../process.ts';
import { requirePythonEnv } from '../python-env.ts';
import { modelIsListed, waitUntil } from '../readiness.ts';
import { serverArgs } from '../server-args.ts';
import { serverApiKey, statePaths } from '../state.ts';
import type { ServerRuntime, ServiceStatus } from './types.ts';

/** Settings llama_cpp.server would also read from the environment are never inherited. */
export function baseEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const keep = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ'];
  const env: Record<string, string> = {};
  for (const key of keep) if (process.env[key]) env[key] = process.env[key] as string;
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

export function readyTimeoutMs(): number {
  return Number(process.env.LLM_WORKBENCH_READY_TIMEOUT ?? 300) * 1000;
}

export async function ensurePortFree(host: string, port: number, field: string, plan: Plan): Promise<void> {
  if (await isPortFree(host, port)) return;
  throw new WorkbenchError(
    `port ${port} on ${host} (${field}) is already in use by another program`,
    `stop that program (ss -ltnp 'sport = :${port}' shows which) or choose another ${field} in ${plan.profile.files[plan.profile.files.length - 1]}`,
  );
}

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

    const previous = readRecord(paths.serverRecord);
    let replaced = false;
    if (isOurs(previous)) {
      if (previous.fingerprint === fingerprint && (await modelIsListed(plan.server.baseUrl, plan.model.alias, apiKey))) {
        return { outcome: 'unchanged', detail: `${plan.server.baseUrl} (pid ${previous.pid})` };
      }
      await stopService(paths.serverRecord);
      replaced = true;
    }
    await ensurePortFree(plan.server.host, plan.server.port, 'server.port', plan);

    const record = await startService({
      service: 'model-server',
      argv,
      // HOST and PORT are set on purpose: llama_cpp.server lets them override --host/--port.
      // The API key travels here, never on the command line where ps shows it.
      env: baseEnv({ HOST: plan.server.host, PORT: String(plan.server.port), API_KEY: apiKey }),
      cwd: plan.paths.stateDir,
      logFile: paths.serverLog,
      recordFile: paths.serverRecord,
      fingerprint,
      url: plan.server.baseUrl,
    });
    try {
      await waitUntil(() => modelIsListed(plan.server.baseUrl, plan.model.alias, apiKey), {
        what: `model server on ${plan.server.host}:${plan.server.port}`,
        timeoutMs: readyTimeoutMs(),
        logName: paths.serverLog,
        logTail: () => logTail(paths.serverLog),
        isAlive: () => isOurs(record),
        logsHint: `make logs shows the whole log (${paths.serverLog}); check model.file and llama_cpp.version in the profile`,
      });
    } catch (error) {
      await stopService(paths.serverRecord);
      throw error;
    }
    return { outcome: replaced ? 'replaced' : 'created', detail: `${plan.server.baseUrl} (pid ${record.pid})` };
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
