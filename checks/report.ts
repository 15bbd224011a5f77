/** Runs named checks one after the other: one line each, and a JSON report. */
import { writeFileAtomic } from '../scripts/lib/atomic-write.ts';
import { WorkbenchError } from '../scripts/lib/errors.ts';
import { APIConnectionTimeoutError } from 'openai';

export interface CheckOutcome {
  name: string;
  /** True for a pass and for a skip: a skip is no failure. */
  ok: boolean;
  /** The check did not apply (a model whose template has no tools): `detail` says why and the fix. */
  skipped?: true;
  ms: number;
  detail: string;
}

export interface Check {
  name: string;
  run(): Promise<string>;
}

/** A failed expectation inside a check: its message is what the user reads. */
export class CheckFailure extends Error {}

/** A check that does not apply here: its message says why, and how to make it apply. */
export class CheckSkipped extends Error {}

export function skip(reason: string): never {
  throw new CheckSkipped(reason);
}

export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailure(message);
}

export async function runChecks(checks: readonly Check[], print: (line: string) => void = console.log): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = [];
  for (const check of checks) {
    const started = performance.now();
    let ok = true;
    let skipped = false;
    let detail: string;
    try {
      detail = await check.run();
    } catch (error) {
      skipped = error instanceof CheckSkipped;
      ok = skipped;
      detail = describe(error);
    }
    const ms = Math.round(performance.now() - started);
    outcomes.push({ name: check.name, ok, ...(skipped ? { skipped: true as const } : {}), ms, detail });
    print(`${skipped ? 'skip' : ok ? 'pass' : 'FAIL'}  ${check.name.padEnd(12)} ${String(ms).padStart(6)} ms  ${detail}`);
  }
  return outcomes;
}

function describe(error: unknown): string {
  if (error instanceof CheckFailure || error instanceof CheckSkipped) return error.message;
  // What it waited for, not the SDK's "Request timed out.": a busy or hung server is the usual cause.
  if (error instanceof APIConnectionTimeoutError) return `no answer within ${smokeTimeoutSeconds()} s (SMOKE_TIMEOUT): the server is busy or hung (make status says which); given up, not retried`;
  const e = error as { status?: number; message?: string; error?: { message?: string } };
  if (typeof e.status === 'number') return `HTTP ${e.status}: ${e.error?.message ?? e.message ?? 'no message'}`;
  return e.message ?? String(error);
}

export function writeReport(file: string, report: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
}

function xmlText(text: string): string {
  // XML 1.0 has no place for most control characters, whatever the escaping.
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The same outcomes as JUnit XML (one testsuite, one testcase per check, a failure with what the
 * server answered), the format other CI systems read: Jenkins, GitLab, GitHub's test reporters.
 */
export function junitXml(suite: string, outcomes: readonly CheckOutcome[], at: string): string {
  const failures = outcomes.filter((o) => !o.ok).length;
  const skipped = outcomes.filter((o) => o.skipped).length;
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const total = outcomes.reduce((sum, o) => sum + o.ms, 0);
  const cases = outcomes.map((o) => {
    const head = `  <testcase classname="${xmlText(suite)}" name="${xmlText(o.name)}" time="${seconds(o.ms)}"`;
    if (o.skipped) return `${head}>\n    <skipped message="${xmlText(o.detail)}"/>\n  </testcase>`;
    return o.ok
      ? `${head}>\n    <system-out>${xmlText(o.detail)}</system-out>\n  </testcase>`
      : `${head}>\n    <failure message="${xmlText(o.detail.split('\n')[0] ?? '')}">${xmlText(o.detail)}</failure>\n  </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="${xmlText(suite)}" tests="${outcomes.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(total)}" timestamp="${xmlText(at)}">`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n');
}

export function writeJunit(file: string, suite: string, outcomes: readonly CheckOutcome[], at: string): void {
  writeFileAtomic(file, junitXml(suite, outcomes, at));
}

/** How long one request of the smoke checks (and one cell of the guide's notebook) may take. */
export function smokeTimeoutSeconds(env: Record<string, string | undefined> = process.env): number {
  return knob('SMOKE_TIMEOUT', 120, env);
}

/** A whole-number setting from the environment (SMOKE_MAX_TOKENS, BENCH_RUNS, ...), or its default. */
export function knob(name: string, fallback: number, env: Record<string, string | undefined> = process.env): number {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new WorkbenchError(`${name} must be a positive whole number, not "${raw}"`, `e.g. ${name}=${fallback}, or leave it unset`);
  return value;
}
