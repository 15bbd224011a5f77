/**
 * The profile lock: one command that changes a profile's state at a time (`make provision`,
 * `make server`, `make down`, ...). Taken atomically: the lock file is written whole under a
 * temporary name and hard-linked into place, which fails if a lock exists, so nobody ever sees
 * an empty lock. A lock whose holder is gone (pid dead, or reused by another process: the start
 * time differs) is stale; breaking it is serialized by a second lock, so two processes can
 * never both break a stale lock and both hold the new one.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { WorkbenchError } from '../errors.ts';
import { isProcessAlive, processStartTime } from './process-identity.ts';
import { ensureStateDir, statePaths, type StateDirOf } from './paths.ts';
import type { Plan } from '../plan/index.ts';

export interface LockHolder {
  pid: number;
  startTime: string;
  command: string;
  since: string;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(holder.pid) ? holder : undefined;
  } catch {
    return undefined;
  }
}

function isLive(holder: LockHolder | undefined): boolean {
  return holder !== undefined && isProcessAlive(holder.pid, holder.startTime);
}

/** Creates `file` with `content` only if it does not exist; false if it does. */
function createExclusive(file: string, content: string): boolean {
  const temp = `${file}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, content, { mode: 0o600 });
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** A breaker that died mid-break (a few system calls long) leaves its file: old enough, it goes. */
const DEAD_BREAKER_MS = 5_000;

/**
 * Removes `lock` if its holder is gone, under `lock.break`. Returns when there is nothing more
 * to do for now (the caller tries to take the lock again).
 */
function breakStaleLock(lock: string, me: string): void {
  const breaker = `${lock}.break`;
  if (!createExclusive(breaker, me)) {
    const other = readHolder(breaker);
    let age = 0;
    try {
      age = Date.now() - statSync(breaker).mtimeMs;
    } catch {
      return;
    }
    if (!isLive(other) && age > DEAD_BREAKER_MS) rmSync(breaker, { force: true });
    return;
  }
  try {
    // Only a breaker removes a lock it does not hold, and we are the only breaker: a stale lock
    // seen now cannot be replaced by a live one before we remove it.
    if (!isLive(readHolder(lock))) rmSync(lock, { force: true });
  } finally {
    rmSync(breaker, { force: true });
  }
}

export interface LockOptions {
  /** What holds it, for the message another command shows: "make provision". */
  command: string;
  /** For messages: `profile "default"`. */
  what: string;
}

/** Takes the lock at `file`, or throws naming who holds it. Returns the release function. */
export function acquireLock(file: string, options: LockOptions): () => void {
  const me: LockHolder = { pid: process.pid, startTime: processStartTime(process.pid) ?? '', command: options.command, since: new Date().toISOString() };
  const content = `${JSON.stringify(me)}\n`;
  let stale: LockHolder | undefined;
  for (let attempt = 0; attempt < 50; attempt++) {
    if (createExclusive(file, content)) {
      // Said, not silent: a lock left behind means a command of ours died mid-way (kill -9, a crash).
      if (stale) console.error(`  took over the lock of ${stale.command} (pid ${stale.pid}, since ${stale.since}) on ${options.what}: that process is gone`);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        // Only our own lock: never one a breaker gave to somebody else.
        if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
        process.removeListener('exit', release);
      };
      process.once('exit', release);
      return release;
    }
    const holder = readHolder(file);
    if (isLive(holder)) {
      throw new WorkbenchError(
        `${holder!.command} (pid ${holder!.pid}, since ${holder!.since}) is changing ${options.what}`,
        `wait for it to finish and run again (two commands at once would stop each other's services); if it hangs, stop it with kill ${holder!.pid}`,
      );
    }
    if (holder === undefined && Date.now() - safeMtime(file) < 1_000) {
      // Unreadable and brand new: a holder from before atomic locks, mid-write. Look again.
      sleepSync(50);
      continue;
    }
    stale = holder ?? stale;
    breakStaleLock(file, content);
    sleepSync(10 + attempt * 5);
  }
  throw new WorkbenchError(`cannot take the lock ${file}`, `remove it if no llm-workbench command is running (rm ${file}), then run again`);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function safeMtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

export async function withLock<T>(file: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const release = acquireLock(file, options);
  try {
    return await fn();
  } finally {
    release();
  }
}

/**
 * Holds the profile's lock while `fn` runs: every command that changes the profile's state takes
 * it, so two of them never run at once (they would stop each other's services).
 */
export async function withProfileLock<T>(plan: StateDirOf & { profile: Pick<Plan['profile'], 'name'> }, command: string, fn: () => Promise<T>): Promise<T> {
  ensureStateDir(plan);
  return withLock(statePaths(plan).lock, { command, what: `profile "${plan.profile.name}"` }, fn);
}
