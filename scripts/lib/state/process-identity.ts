/**
 * Which process holds a record or a lock: its pid with its start time (field 22 of
 * /proc/<pid>/stat), so a pid the kernel has given to another program is never taken for ours.
 */
import { readdirSync, readFileSync } from 'node:fs';

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (state === 'Z' || state === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * The process's state letter (field 3 of /proc/<pid>/stat): R running, S sleeping, D in the
 * kernel, T stopped by a signal (kill -STOP, Ctrl-Z), t stopped by a debugger, Z zombie.
 */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Stopped by a signal or a debugger: it holds what it holds and answers nothing until continued. */
export function isStopped(pid: number): boolean {
  const state = processState(pid);
  return state === 'T' || state === 't';
}

/**
 * True when `pid` is alive and, when a start time is given, is still the process that had it
 * (a recycled pid is another program). The one liveness check of the project.
 */
export function isProcessAlive(pid: number, startTime?: string): boolean {
  const now = processStartTime(pid);
  return now !== undefined && (startTime === undefined || now === startTime);
}

/** Live processes (zombies aside) whose process group is `pgid`: what a detached service spawned. */
export function processGroupMembers(pgid: number, procRoot = '/proc'): number[] {
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return [];
  }
  const members: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`${procRoot}/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return members;
}
