/** Runs named checks one after the other: one line each, and a JSON report. */
import { writeFileAtomic } from '../scripts/lib/atomic-write.ts';

export interface CheckOutcome {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

export interface Check {
  name: string;
  run(): Promise<string>;
}

/** A failed expectation inside a check: its message is what the user reads. */
export class CheckFailure extends Error {}

export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailure(message);
}

export async function runChecks(checks: readonly Check[], print: (line: string) => void = console.log): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = [];
  for (const check of checks) {
    const started = performance.now();
    let ok = true;
    let detail: string;
    try {
      detail = await check.run();
    } catch (error) {
      ok = false;
      detail = describe(error);
    }
    const ms = Math.round(performance.now() - started);
    outcomes.push({ name: check.name, ok, ms, detail });
    print(`${ok ? 'pass' : 'FAIL'}  ${check.name.padEnd(12)} ${String(ms).padStart(6)} ms  ${detail}`);
  }
  return outcomes;
}

function describe(error: unknown): string {
  if (error instanceof CheckFailure) return error.message;
  const e = error as { status?: number; message?: string; error?: { message?: string } };
  if (typeof e.status === 'number') return `HTTP ${e.status}: ${e.error?.message ?? e.message ?? 'no message'}`;
  return e.message ?? String(error);
}

export function writeReport(file: string, report: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
}
