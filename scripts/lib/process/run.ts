/**
 * Running commands: always execa with an argument array (no shell, so no user value is ever
 * parsed by one). Long commands write to a log file and print a progress line now and then;
 * a failure becomes a WorkbenchError carrying the command, exit code and the log's tail.
 */
import { accessSync, appendFileSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa, type Result } from 'execa';
import { WorkbenchError } from '../errors.ts';
import { logTail } from './log-tail.ts';
import { diskFullError, failedForSpace, freeBytes } from '../disk-full.ts';

export interface LoggedRunOptions {
  /** What the user is waiting for: "compiling llama.cpp". */
  label: string;
  logFile: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Seconds between progress lines. */
  every?: number;
  /** Picks a progress figure out of the output, e.g. ninja's [12/180]. */
  progress?: (line: string) => string | undefined;
  hint: string;
  /** The folder it writes into, named when the disk fills (default: its cwd). */
  writesTo?: string;
}

export function commandLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

export async function runLogged(argv: readonly string[], options: LoggedRunOptions): Promise<void> {
  mkdirSync(dirname(options.logFile), { recursive: true });
  appendFileSync(options.logFile, `\n$ ${commandLine(argv)}\n`);
  const started = Date.now();
  let latest: string | undefined;
  const timer = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    const elapsed = seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
    console.log(`  ... ${options.label}: ${elapsed}${latest ? `, ${latest}` : ''}`);
  }, (options.every ?? 20) * 1000);
  const [command, ...args] = argv as [string, ...string[]];
  const child = execa(command, args, {
    env: options.env,
    extendEnv: options.env === undefined,
    cwd: options.cwd,
    reject: false,
    all: true,
    buffer: false,
    stdin: 'ignore',
  });
  child.all?.setEncoding('utf8');
  child.all?.on('data', (chunk: string) => {
    appendFileSync(options.logFile, chunk);
    if (options.progress) {
      for (const line of chunk.split('\n')) latest = options.progress(line) ?? latest;
    }
  });
  let result: Result;
  try {
    result = await child;
  } finally {
    clearInterval(timer);
  }
  if (result.failed) {
    // A full disk shows only as a line deep in a program's output (a Python traceback, a compiler's
    // "No space left on device"): named as what it is, not as the program's failure.
    // Or by what is left where it writes: some programs lose the error on the way (disk-full.ts).
    const tail = logTail(options.logFile, 25);
    if (failedForSpace(tail, options.writesTo === undefined ? undefined : freeBytes(options.writesTo))) {
      throw diskFullError(options.writesTo ?? options.cwd ?? process.cwd(), options.label, undefined, result, `what it wrote stays until the next run removes it (the log: ${options.logFile})`);
    }
    throw new WorkbenchError(
      `${options.label} failed (${result.exitCode !== undefined ? `exit code ${result.exitCode}` : result.signal ?? 'no exit code'}): ${commandLine(argv)}`,
      options.hint,
      { details: `last lines of ${options.logFile}:\n${logTail(options.logFile, 25)}`, cause: result },
    );
  }
}

/** Runs a short command and returns its stdout, or undefined when it fails or is missing. */
export async function tryOutput(argv: readonly string[], env?: Record<string, string | undefined>): Promise<string | undefined> {
  const [command, ...args] = argv as [string, ...string[]];
  const result = await execa(command, args, { reject: false, env, stdin: 'ignore', timeout: 60_000 });
  return result.failed ? undefined : String(result.stdout).trim();
}

/** The absolute path of a program on PATH, or undefined. */
export function which(program: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(':')) {
    if (!dir) continue;
    const candidate = `${dir}/${program}`;
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}
