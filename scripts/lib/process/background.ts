/**
 * Background services we start ourselves: a detached process group, a log file, and a state
 * file recording pid, process start time and config fingerprint. We only ever signal a pid
 * whose /proc start time still matches what we recorded, so a recycled pid is never ours.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkbenchError } from '../errors.ts';
import type { Facts } from '../fingerprint.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import { isProcessAlive, processGroupMembers, processStartTime } from '../state/process-identity.ts';
import { mainPid, stopUnit } from './systemd.ts';

export interface ServiceRecord {
  service: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat: identifies this process, not just this pid. */
  startTime: string;
  fingerprint: string;
  /** The facts the fingerprint was made of, so a plan can say what changed. */
  facts?: Facts;
  logFile: string;
  url: string;
  startedAt: string;
  /** The kernel's boot id when it started: another one now means the machine (or WSL) restarted. */
  bootId?: string;
  /** Where its exit status lands when it ends on its own (a crash, not our stop). */
  exitFile?: string;
  /** The systemd user unit that runs it (make service-install): its pid follows the unit's main process. */
  unit?: string;
}

/** This boot's id (/proc/sys/kernel/random/boot_id), or undefined off Linux. */
export function currentBootId(file = '/proc/sys/kernel/random/boot_id'): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Runs argv under a small sh that writes the exit status to the file named by its $0 when the
 * program ends on its own. The script is constant: argv and the file travel as arguments, never
 * as shell text.
 */
export function withExitStatus(argv: readonly string[], exitFile: string): string[] {
  return ['sh', '-c', '"$@"; echo "$?" > "$0"', exitFile, ...argv];
}

export function readRecord(file: string): ServiceRecord | undefined {
  if (!existsSync(file)) return undefined;
  let record: ServiceRecord;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as ServiceRecord;
  } catch {
    return undefined;
  }
  return record.unit ? followUnit(file, record, record.unit) : record;
}

/**
 * A unit's service as it runs now: systemd restarted it (a crash, a reboot, systemctl restart),
 * so its main process is another one than the record's; the record follows it. A unit that runs
 * nothing leaves the record as it was (its process is gone: the service reads as stopped).
 */
function followUnit(file: string, record: ServiceRecord, unit: string): ServiceRecord {
  // The recorded process alive (same start time) is still the unit's: systemd starts another only
  // after it ended. Only then is systemctl asked (a process per read otherwise: make status reads often).
  if (isProcessAlive(record.pid, record.startTime)) return record;
  const pid = mainPid(unit);
  if (!pid) return record;
  const startTime = processStartTime(pid);
  if (!startTime) return record;
  const now: ServiceRecord = { ...record, pid, startTime, ...(currentBootId() ? { bootId: currentBootId() as string } : {}) };
  try {
    writeFileAtomic(file, `${JSON.stringify(now, null, 2)}\n`, 0o600);
  } catch {
    // Read-only state (another user's): the answer is still right.
  }
  return now;
}

/** True when the recorded process is still the one we started. */
export function isOurs(record: ServiceRecord | undefined): record is ServiceRecord {
  return record !== undefined && isProcessAlive(record.pid, record.startTime);
}

export interface StartOptions {
  service: string;
  argv: readonly string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  recordFile: string;
  fingerprint: string;
  facts: Facts;
  url: string;
}

/** Starts a detached process group writing to logFile, and records it. */
export async function startService(options: StartOptions): Promise<ServiceRecord> {
  mkdirSync(dirname(options.logFile), { recursive: true });
  // One generation of history: the previous run's log stays readable as <log>.1.
  if (existsSync(options.logFile)) renameSync(options.logFile, `${options.logFile}.1`);
  const log = openSync(options.logFile, 'w', 0o600);
  const exitFile = `${options.recordFile.replace(/\.json$/, '')}.exit`;
  rmSync(exitFile, { force: true });
  const [command, ...args] = withExitStatus(options.argv, exitFile) as [string, ...string[]];
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid as number));
    child.once('error', reject);
  });
  child.unref();
  let startTime = processStartTime(spawned);
  for (let i = 0; startTime === undefined && i < 20; i++) {
    await sleep(10);
    startTime = processStartTime(spawned);
  }
  const record: ServiceRecord = {
    service: options.service,
    pid: spawned,
    startTime: startTime ?? '',
    fingerprint: options.fingerprint,
    facts: options.facts,
    logFile: options.logFile,
    url: options.url,
    startedAt: new Date().toISOString(),
    ...(currentBootId() ? { bootId: currentBootId() as string } : {}),
    exitFile,
  };
  writeFileAtomic(options.recordFile, `${JSON.stringify(record, null, 2)}\n`, 0o600);
  return record;
}

/**
 * Stops the recorded process group (TERM, then KILL after a grace period). Returns whether it
 * was running. A process that outlives SIGKILL (stuck in the kernel, state D) is reported, not
 * waited on for ever.
 */
export interface StopOptions {
  graceMs?: number;
  killWaitMs?: number;
  /** How signals are sent (to the process group); tests stand in for a process that ignores them. */
  signal?: (pid: number, signal: NodeJS.Signals) => void;
}

export async function stopService(recordFile: string, options: StopOptions = {}): Promise<boolean> {
  const { graceMs = 10_000, killWaitMs = 5_000, signal = signalGroup } = options;
  const record = readRecord(recordFile);
  if (record?.unit) {
    // systemd's to stop (a signal of ours would only make it restart the service).
    const running = await stopUnit(record.unit);
    rmSync(recordFile, { force: true });
    return running;
  }
  const running = isOurs(record);
  if (running) {
    signal(record.pid, 'SIGTERM');
    // A stopped process (kill -STOP, Ctrl-Z) holds SIGTERM until it is continued: continue it so
    // it can shut down cleanly instead of waiting out the grace period for SIGKILL.
    signal(record.pid, 'SIGCONT');
    if (!(await waitForExit(record, graceMs))) {
      signal(record.pid, 'SIGKILL');
      if (!(await waitForExit(record, killWaitMs))) {
        throw new WorkbenchError(
          `${record.service} (pid ${record.pid}) did not exit ${Math.round(killWaitMs / 1000)}s after SIGKILL`,
          `it is stuck in the kernel (ps -o stat= -p ${record.pid} shows D): wait for its I/O to finish or reboot, then run again; ${recordFile} is kept`,
        );
      }
    }
  }
  rmSync(recordFile, { force: true });
  return running;
}

/**
 * Waits until the recorded process and everything of its process group are gone: the program
 * runs under a small sh, which dies at once on SIGTERM while the program may take seconds to
 * shut down (JupyterLab stops its kernels), still holding its port.
 */
async function waitForExit(record: ServiceRecord, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  const group = record.pid;
  while (isOurs(record) || processGroupMembers(group).length > 0) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}
