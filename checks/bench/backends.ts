/**
 * The other side of the comparison: llama.cpp's own llama-server started for the bench alone (a
 * free loopback port, the profile's model and threads, the user's stack untouched), and
 * llama-bench's pp/tg at the same threads: the C++ limit a served endpoint is measured against.
 * Both come from the same pinned llama.cpp source as the wheel (built and cached on first use).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { WorkbenchError } from '../../scripts/lib/errors.ts';
import { llamaServerArgs } from '../../scripts/lib/llama-cpp/llama-server-args.ts';
import { ensureLlamaServer } from '../../scripts/lib/llama-cpp/llama-server-build.ts';
import { autoDecodeThreads } from '../../scripts/lib/profile/rules.ts';
import { freePort } from '../../scripts/lib/process/ports.ts';
import { which } from '../../scripts/lib/process/run.ts';
import type { Plan } from '../../scripts/lib/profile/plan.ts';
import { resolveParallel } from '../../scripts/lib/profile/rules.ts';

export async function llamaServerBinaries(plan: Plan): Promise<{ server: string; bench: string }> {
  const python = which('python3');
  if (!python) throw new WorkbenchError('no python3 on PATH to build llama-server with', 'install Python 3 with venv support');
  return ensureLlamaServer(plan, { path: python });
}

/** Runs `fn` against a llama-server of the bench's own, then stops it. */
export async function withTemporaryLlamaServer<T>(plan: Plan, binary: string, fn: (baseUrl: string, parallel: number) => Promise<T>): Promise<T> {
  const port = await freePort();
  const parallel = resolveParallel('auto', plan.model.sizeMb);
  // Its own auto threads where the profile says auto: llama-server decodes fastest on every core.
  const nThreads = plan.server.threadsAuto ? autoDecodeThreads('llama-server', plan.server.nThreadsBatch) : plan.server.nThreads;
  const benchPlan: Plan = { ...plan, models: [plan.model], server: { ...plan.server, host: '127.0.0.1', port, parallel, nThreads, extraArgs: [], backend: 'llama-server' } };
  const child = execa(binary, llamaServerArgs(benchPlan, { modelPath: plan.model.path }), { reject: false, all: true, buffer: true, env: { PATH: process.env.PATH ?? '' }, extendEnv: false });
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  try {
    const deadline = Date.now() + 180_000;
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
      if (ready) break;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new WorkbenchError('the bench\'s llama-server did not come up', 'its output is below', { details: String((await child).all ?? '').split('\n').slice(-15).join('\n') });
      }
      await sleep(250);
    }
    return await fn(baseUrl, parallel);
  } finally {
    child.kill('SIGTERM');
    await child;
  }
}

export interface CppLimit {
  threads: number;
  promptTokens: number;
  genTokens: number;
  /** llama-bench pp<promptTokens>, tokens/s. */
  ppTokensPerSecond: number;
  /** llama-bench tg<genTokens>, tokens/s: the decode speed no server can beat (at `threads`, the fastest). */
  tgTokensPerSecond: number;
  /** Each thread count measured: pp and tg tokens/s (what `n_threads: auto` rests on). */
  byThreads: { threads: number; pp: number; tg: number }[];
}

/**
 * llama-bench at every thread count the backends use (the profile's decode threads, and every
 * core): prompt processing and generation, three repetitions each. The C++ limit is the fastest.
 */
export async function llamaBench(plan: Plan, binary: string, genTokens: number): Promise<CppLimit> {
  const counts = [...new Set([plan.server.nThreads, plan.server.nThreadsBatch])].sort((a, b) => a - b);
  const result = await execa(binary, ['-m', plan.model.path, '-t', counts.join(','), '-p', '64', '-n', String(genTokens), '-r', '3', ...(plan.server.weightRepack ? [] : ['--repack', '0']), '-o', 'json'], { reject: false });
  if (result.failed) throw new WorkbenchError('llama-bench failed', 'its output is below', { details: String(result.stderr).split('\n').slice(-15).join('\n') });
  const rows = JSON.parse(String(result.stdout)) as { n_prompt: number; n_gen: number; n_threads: number; avg_ts: number }[];
  const byThreads = counts.map((threads) => ({
    threads,
    pp: rows.find((r) => r.n_threads === threads && r.n_prompt > 0 && r.n_gen === 0)?.avg_ts,
    tg: rows.find((r) => r.n_threads === threads && r.n_gen > 0 && r.n_prompt === 0)?.avg_ts,
  }));
  if (byThreads.some((t) => t.pp === undefined || t.tg === undefined)) throw new WorkbenchError('llama-bench printed no pp/tg rows', 'run it by hand with -o json to see why');
  const measured = byThreads as { threads: number; pp: number; tg: number }[];
  const fastest = measured.reduce((best, t) => (t.tg > best.tg ? t : best));
  return {
    threads: fastest.threads,
    promptTokens: 64,
    genTokens,
    ppTokensPerSecond: Math.max(...measured.map((t) => t.pp)),
    tgTokensPerSecond: fastest.tg,
    byThreads: measured,
  };
}
