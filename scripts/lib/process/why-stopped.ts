/**
 * Why a service of ours is not running, told apart for the user: it crashed (its exit status
 * or signal, its last log lines), or it is gone because the machine or WSL restarted since it
 * was started (the kernel's boot id changed), which on WSL is usually the distro's idle shutdown.
 */
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { ServiceRecord } from './background.ts';

export interface Stopped {
  kind: 'restarted' | 'crashed' | 'vanished';
  message: string;
  hint: string;
}

// Numbers with two names keep the one people know: 6 is SIGABRT (an abort()), not SIGIOT.
const SIGNALS = Object.fromEntries(Object.entries(constants.signals).filter(([name]) => !['SIGIOT', 'SIGPOLL', 'SIGUNUSED'].includes(name)).map(([name, number]) => [number, name])) as Record<number, string>;

/** `exited with status 1`, or `killed by SIGKILL` (sh reports a signal as 128 + its number). */
export function describeExit(code: number): string {
  if (code > 128 && SIGNALS[code - 128]) {
    const signal = SIGNALS[code - 128];
    return `killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory? dmesg says)' : ''}`;
  }
  return `exited with status ${code}`;
}

export interface StopFacts {
  bootId: string | undefined;
  wsl: boolean;
}

export function whyStopped(record: ServiceRecord, now: StopFacts, readExit: (file: string) => string | undefined = readExitFile): Stopped {
  const started = `started ${record.startedAt}`;
  if (record.bootId && now.bootId && record.bootId !== now.bootId) {
    return {
      kind: 'restarted',
      message: `gone: ${now.wsl ? 'WSL' : 'the machine'} restarted since it was ${started} (the boot id changed), so it did not crash`,
      hint: now.wsl
        ? 'make provision brings it back. WSL stops the distro a few seconds after its last terminal closes: keep a terminal open while you use it (make doctor explains)'
        : 'make provision brings it back',
    };
  }
  const code = record.exitFile ? readExit(record.exitFile) : undefined;
  if (code !== undefined && /^\d+$/.test(code)) {
    return { kind: 'crashed', message: `crashed: ${describeExit(Number(code))} (it was ${started})`, hint: 'make logs shows the whole log; make provision starts it again' };
  }
  return { kind: 'vanished', message: `not running, with no exit status (it was ${started}): it was killed with its process group, or by hand`, hint: 'make provision starts it again' };
}

function readExitFile(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/** Why-stopped facts for a status row: undefined while it runs or when it was never started. */
export function stoppedDetails(record: ServiceRecord | undefined, running: boolean, now: StopFacts, tail: (lines: number) => string): { stopped?: Stopped; logTail?: string } {
  if (running || !record) return {};
  const stopped = whyStopped(record, now);
  return stopped.kind === 'crashed' ? { stopped, logTail: tail(8) } : { stopped };
}
