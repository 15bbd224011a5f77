/**
 * A background service of ours (the native model server, JupyterLab), made idempotent: the same
 * config already answering is left alone, a changed one is replaced, and a new one is started,
 * gated on readiness, and stopped again if it never gets ready.
 */
import { WorkbenchError } from './errors.ts';
import { isPortFree } from './ports.ts';
import type { Plan } from './profile/plan.ts';
import { isOurs, logTail, readRecord, startService, stopService, type ServiceRecord } from './process.ts';
import { waitUntil } from './readiness.ts';

/** Settings the services would also read from the environment are never inherited. */
export function baseEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const keep = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ'];
  const env: Record<string, string> = {};
  for (const key of keep) if (process.env[key]) env[key] = process.env[key] as string;
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

export function readyTimeoutMs(): number {
  const seconds = Number(process.env.LLM_WORKBENCH_READY_TIMEOUT ?? 300);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new WorkbenchError(`LLM_WORKBENCH_READY_TIMEOUT is "${process.env.LLM_WORKBENCH_READY_TIMEOUT}", not a number of seconds`, 'e.g. LLM_WORKBENCH_READY_TIMEOUT=600 for a large model on a slow disk');
  }
  return seconds * 1000;
}

export async function ensurePortFree(host: string, port: number, field: string, plan: Plan): Promise<void> {
  if (await isPortFree(host, port)) return;
  throw new WorkbenchError(
    `port ${port} on ${host} (${field}) is already in use by another program`,
    `stop that program (ss -ltnp 'sport = :${port}' shows which) or choose another ${field} in ${plan.profile.files[plan.profile.files.length - 1]}`,
  );
}

export interface BackgroundService {
  /** For messages: "model server on 127.0.0.1:8080". */
  what: string;
  service: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  recordFile: string;
  logFile: string;
  fingerprint: string;
  url: string;
  port: { host: string; port: number; field: string };
  isReady: () => Promise<boolean>;
  logsHint: string;
}

export async function ensureBackgroundService(plan: Plan, s: BackgroundService): Promise<{ outcome: 'created' | 'unchanged' | 'replaced'; record: ServiceRecord }> {
  const previous = readRecord(s.recordFile);
  let replaced = false;
  if (isOurs(previous)) {
    if (previous.fingerprint === s.fingerprint && (await s.isReady())) return { outcome: 'unchanged', record: previous };
    await stopService(s.recordFile);
    replaced = true;
  }
  await ensurePortFree(s.port.host, s.port.port, s.port.field, plan);
  const record = await startService({
    service: s.service,
    argv: s.argv,
    env: s.env,
    cwd: s.cwd,
    logFile: s.logFile,
    recordFile: s.recordFile,
    fingerprint: s.fingerprint,
    url: s.url,
  });
  try {
    await waitUntil(s.isReady, {
      what: s.what,
      timeoutMs: readyTimeoutMs(),
      logName: s.logFile,
      logTail: () => logTail(s.logFile),
      isAlive: () => isOurs(record),
      logsHint: s.logsHint,
    });
  } catch (error) {
    await stopService(s.recordFile);
    throw error;
  }
  return { outcome: replaced ? 'replaced' : 'created', record };
}
