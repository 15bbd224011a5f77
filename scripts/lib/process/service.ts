/**
 * A background service of ours (the native model server, JupyterLab), made idempotent: the same
 * config already serving is left alone (busy or not), a changed one is replaced once its
 * requests in flight are done, and a new one is started, gated on readiness, and stopped again
 * if it never gets ready.
 */
import type { Stopped } from './why-stopped.ts';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../atomic-write.ts';
import { WorkbenchError } from '../errors.ts';
import { describeChanges, factsFingerprint, type Facts } from '../fingerprint.ts';
import type { Preview } from '../outcome.ts';
import { isPortFree } from './ports.ts';
import { currentBootId, isOurs, readRecord, startService, stopService, type ServiceRecord } from './background.ts';
import { probeHost, readOwnership, renderUnit, startUnit, type SystemdOwnership, type UnitSpec } from './systemd.ts';
import { logTail } from './log-tail.ts';
import { waitUntil } from './readiness.ts';
import { isStopped } from '../state/process-identity.ts';
import { heldByOtherProfile, otherProfileOnPort, stateRootOf } from '../state/serving.ts';
import { openConnections, portHolders } from './sockets.ts';
import type { Plan } from '../plan/index.ts';

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

/**
 * How long a server of ours we just stopped may take to let go of its port: the kernel closes a
 * killed process's sockets as it reaps it, which on a loaded machine is not instant.
 */
const PORT_RELEASE_MS = 15_000;

/**
 * Fails, naming the port and the fix, when another program holds it. `ours` says we have just
 * stopped our own holder of it: it is then waited for (bounded) instead of taken for a stranger.
 */
/** Who claims a port, for the message when another program holds it: the profile, its file (where the port is set) and its state folder (other profiles' records lie beside it). */
export type PortClaimant = { profile: Pick<Plan['profile'], 'name' | 'files'>; paths: Pick<Plan['paths'], 'stateDir'> };

export async function ensurePortFree(host: string, port: number, field: string, plan: PortClaimant, ours = false): Promise<void> {
  const deadline = Date.now() + (ours ? PORT_RELEASE_MS : 0);
  while (!(await isPortFree(host, port, field))) {
    if (Date.now() >= deadline) return portTaken(host, port, field, plan, ours);
    await sleep(100);
  }
}

function portTaken(host: string, port: number, field: string, plan: PortClaimant, ours: boolean): never {
  if (ours) {
    throw new WorkbenchError(
      `port ${port} on ${host} (${field}) is still held ${PORT_RELEASE_MS / 1000}s after our server there was stopped`,
      `ss -ltnp 'sport = :${port}' shows which process holds it; stop it, then run make provision again`,
    );
  }
  const other = otherProfileOnPort(stateRootOf(plan.paths.stateDir), port, plan.profile.name);
  if (other) {
    const held = heldByOtherProfile(other, field, plan.profile.files[plan.profile.files.length - 1] ?? 'the profile');
    throw new WorkbenchError(`port ${port} on ${host} (${field}) ${held.message}`, held.fix);
  }
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
  /** What decides whether a running instance can stay (its fingerprint is derived from these). */
  facts: Facts;
  url: string;
  port: { host: string; port: number; field: string };
  isReady: () => Promise<boolean>;
  logsHint: string;
  /** Files it reads at start (a config), written atomically just before it starts; their content is in `facts`. */
  files?: { path: string; text: string }[];
  /** Under systemd: the HTTP path its readiness probe asks for 200 (none: any answer on its port). */
  probePath?: string;
  /** Under systemd: the service of the same profile it starts after (JupyterLab after the model server). */
  after?: string;
  /** What must hold before it starts (its RPC workers answer), checked once a former instance has let go of them. */
  beforeStart?: () => Promise<void>;
}

/**
 * How a service of ours is doing: `ready` answers its probe; `busy` holds its port and has
 * requests in flight but does not answer in time (llama_cpp.server makes /v1/models wait behind
 * a generation); `unresponsive` holds its port and does not answer while serving nothing (hung,
 * or stopped by a signal: kill -STOP, Ctrl-Z); `stopped` is not ours or not running.
 */
export type Health = 'ready' | 'busy' | 'unresponsive' | 'stopped';

/** make status's row for one service (the model server, JupyterLab, an RPC worker). */
export interface ServiceStatus {
  service: string;
  pid?: number | string;
  url: string;
  /** `stopped` when nothing of ours runs; `busy` when ours holds its port serving requests. */
  health: Health;
  note?: string;
  /** Why it is not running, when it was started and is gone. */
  stopped?: Stopped;
  /** The last log lines, for a service that crashed. */
  logTail?: string;
}

export async function serviceHealth(record: ServiceRecord | undefined, port: number, isReady: () => Promise<boolean>): Promise<Health> {
  if (!isOurs(record)) return 'stopped';
  const holders = portHolders(record.pid, port);
  // A stopped process answers nothing: asking it would only wait for the probe's timeout.
  if (holders.length > 0 && holders.every(isStopped)) return 'unresponsive';
  if (await isReady()) return 'ready';
  if (holders.length === 0) return 'unresponsive';
  return openConnections(port) > 0 ? 'busy' : 'unresponsive';
}

export function drainTimeoutMs(): number {
  const raw = process.env.LLM_WORKBENCH_DRAIN_TIMEOUT ?? '300';
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new WorkbenchError(`LLM_WORKBENCH_DRAIN_TIMEOUT is "${raw}", not a number of seconds`, 'e.g. LLM_WORKBENCH_DRAIN_TIMEOUT=60 (0 restarts at once)');
  }
  return seconds * 1000;
}

/**
 * Before a restart, waits (bounded) until no request is in flight on the port, so a user's
 * stream is not cut. Returns the number still open when it gave up.
 */
export async function waitUntilIdle(what: string, port: number, timeoutMs: number, log: (line: string) => void = console.log): Promise<number> {
  let open = openConnections(port);
  if (open === 0) return 0;
  log(`  ${what} has ${open} request${open === 1 ? '' : 's'} in flight: waiting up to ${Math.round(timeoutMs / 1000)}s for ${open === 1 ? 'it' : 'them'} to finish before restarting (LLM_WORKBENCH_DRAIN_TIMEOUT)`);
  const deadline = Date.now() + timeoutMs;
  while (open > 0 && Date.now() < deadline) {
    await sleep(250);
    open = openConnections(port);
  }
  if (open > 0) log(`  ${open} request${open === 1 ? '' : 's'} still in flight after ${Math.round(timeoutMs / 1000)}s: restarting anyway`);
  return open;
}

export interface EnsuredService {
  outcome: 'created' | 'unchanged' | 'replaced';
  record: ServiceRecord;
  health: Health;
  /** Why the one that ran was replaced: "it was unresponsive", or what changed. */
  replacedBecause?: string;
}

/** What ensureBackgroundService would do, and why, without doing it. */
export async function previewBackgroundService(s: Pick<BackgroundService, 'recordFile' | 'facts' | 'port' | 'isReady'>): Promise<Preview> {
  const previous = readRecord(s.recordFile);
  const health = await serviceHealth(previous, s.port.port, s.isReady);
  if (health === 'stopped' || !previous) return { action: 'create', why: previous ? 'it is not running' : 'not started yet' };
  const same = previous.fingerprint === factsFingerprint(s.facts);
  if (same && health === 'busy') return { action: 'keep', why: 'same configuration; busy serving a request' };
  if (same && health === 'ready') return { action: 'keep', why: 'same configuration, answering' };
  return { action: 'replace', why: same ? 'it does not answer' : describeChanges(previous.facts, s.facts) };
}

export async function ensureBackgroundService(plan: PortClaimant, s: BackgroundService): Promise<EnsuredService> {
  const previous = readRecord(s.recordFile);
  const fingerprint = factsFingerprint(s.facts);
  let replacedBecause: string | undefined;
  // make service-install hands the profile's services to systemd: started as its units from then on.
  const owner = readOwnership(dirname(s.recordFile));
  const unit = owner?.units[s.service];
  if (isOurs(previous)) {
    const health = await serviceHealth(previous, s.port.port, s.isReady);
    const sameSupervisor = previous.unit === unit;
    if (previous.fingerprint === fingerprint && sameSupervisor && (health === 'ready' || health === 'busy')) return { outcome: 'unchanged', record: previous, health };
    // A server with several slots (llama-server) answers its probe while it streams: ready is no
    // sign of idle, so wait for the requests in flight either way (none: no wait).
    if (health === 'busy' || health === 'ready') await waitUntilIdle(s.what, s.port.port, drainTimeoutMs());
    replacedBecause =
      health === 'unresponsive'
        ? 'it was unresponsive: held its port, answered nothing'
        : !sameSupervisor && previous.fingerprint === fingerprint
          ? unit
            ? `systemd runs it now (${unit})`
            : 'its systemd unit was removed'
          : describeChanges(previous.facts, s.facts);
    await stopService(s.recordFile);
  }
  // Our own server we just stopped may still be letting go of the port: wait for it, bounded.
  await ensurePortFree(s.port.host, s.port.port, s.port.field, plan, replacedBecause !== undefined);
  await s.beforeStart?.();
  for (const file of s.files ?? []) writeFileAtomic(file.path, file.text, 0o600);
  const record = owner && unit ? await startAsUnit(owner, s, fingerprint) : await startService({
    service: s.service,
    argv: s.argv,
    env: s.env,
    cwd: s.cwd,
    logFile: s.logFile,
    recordFile: s.recordFile,
    fingerprint,
    facts: s.facts,
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
  return replacedBecause === undefined ? { outcome: 'created', record, health: 'ready' } : { outcome: 'replaced', record, health: 'ready', replacedBecause };
}

/** A service started by systemd as the profile's unit; its record names the unit and follows its main process. */
async function startAsUnit(owner: SystemdOwnership, s: BackgroundService, fingerprint: string): Promise<ServiceRecord> {
  const spec: UnitSpec = {
    service: s.service,
    description: `llm-workbench ${owner.profile}: ${s.what}`,
    argv: s.argv,
    env: s.env,
    cwd: s.cwd,
    logFile: s.logFile,
    ...(s.after && owner.units[s.after] ? { after: owner.units[s.after] } : {}),
    ready: { host: probeHost(s.port.host), port: s.port.port, ...(s.probePath ? { path: s.probePath } : {}) },
  };
  mkdirSync(dirname(s.logFile), { recursive: true });
  const unit = renderUnit(owner.profile, spec, { unitDir: owner.unitDir, stateDir: dirname(s.recordFile) });
  const { pid, startTime } = await startUnit(unit);
  const record: ServiceRecord = {
    service: s.service,
    pid,
    startTime,
    fingerprint,
    facts: s.facts,
    logFile: s.logFile,
    url: s.url,
    startedAt: new Date().toISOString(),
    ...(currentBootId() ? { bootId: currentBootId() as string } : {}),
    unit: unit.name,
  };
  writeFileAtomic(s.recordFile, `${JSON.stringify(record, null, 2)}\n`, 0o600);
  return record;
}
