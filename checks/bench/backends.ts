/**
 * What the served endpoint is measured against: each other serving backend started for the bench
 * alone (a free loopback port, the profile's model and threads, the user's stack untouched), and
 * llama.cpp's own limits from the same pinned source: llama-bench (one stream) and
 * llama-batched-bench (several sequences decoded together, at the slot counts served).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { ServingBackend } from '../../scripts/lib/backend/index.ts';
import { WorkbenchError } from '../../scripts/lib/errors.ts';
import { BENCH_TOOLS } from '../../scripts/lib/llama-cpp/cmake-build.ts';
import { freePort } from '../../scripts/lib/process/ports.ts';
import { baseEnv } from '../../scripts/lib/process/service.ts';
import type { Plan } from '../../scripts/lib/plan/index.ts';

/** llama-bench and llama-batched-bench, built (once, cached) when make bench first needs them. */
export async function benchTools(plan: Plan): Promise<{ bench: string; batched: string }> {
  await BENCH_TOOLS.ensure(plan);
  return { bench: BENCH_TOOLS.program(plan, 'llama-bench'), batched: BENCH_TOOLS.program(plan, 'llama-batched-bench') };
}

/** On a GPU build, llama.cpp's tools run where the server does: every layer on the device (and its visibility env). */
export function gpuArgs(plan: Plan): string[] {
  const layers = plan.accelerator.gpuLayers;
  return layers === undefined ? [] : ['-ngl', layers === 'auto' ? '99' : String(layers)];
}

/** Runs `fn` against a server of `backend` of the bench's own, then stops it. */
export async function withTemporaryServer<T>(plan: Plan, backend: ServingBackend, fn: (baseUrl: string, parallel: number) => Promise<T>): Promise<T> {
  const port = await freePort();
  const { argv, env, parallel } = await backend.benchServer(plan, port);
  const child = execa(argv[0]!, argv.slice(1), { reject: false, all: true, buffer: true, env: baseEnv({ ...plan.accelerator.serverEnv, ...plan.server.engineEnv, ...env }), extendEnv: false });
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  try {
    const deadline = Date.now() + 180_000;
    for (;;) {
      const ready = await fetch(`${baseUrl}/models`).then((r) => r.ok, () => false);
      const healthy = !backend.hasHealthEndpoint || (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false));
      if (ready && healthy) break;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new WorkbenchError(`the bench's ${backend.label} did not come up`, 'its output is below', { details: String((await child).all ?? '').split('\n').slice(-15).join('\n') });
      }
      await sleep(250);
    }
    return await fn(baseUrl, parallel);
  } finally {
    child.kill('SIGTERM');
    await child;
  }
}

/** The C++ tools run the engine as served: flash attention on where answers are reproducible (its one kernel path: the engine's variable). */
function flashAttention(plan: Plan): string[] {
  return plan.server.reproducible ? ['-fa', 'on'] : [];
}

export interface CppLimit {
  threads: number;
  promptTokens: number;
  genTokens: number;
  /** Tokens already in the context when tg and pp start (llama-bench -d): what the served streams had, their prompts. */
  depthTokens: number;
  /** llama-bench pp<promptTokens>, tokens/s. */
  ppTokensPerSecond: number;
  /** llama-bench tg<genTokens> at the server's decode threads, tokens/s: the decode speed the served stream is held to. */
  tgTokensPerSecond: number;
  /** Each thread count measured: pp and tg tokens/s (what `n_threads: auto` rests on). */
  byThreads: { threads: number; pp: number; tg: number }[];
  /** tg tokens/s at the server's decode threads just before and just after the served runs (the figures above are their mean). */
  bracket?: Bracket;
}

/** One figure of a C++ tool measured just before and just after the served runs. */
export interface Bracket {
  before: number;
  after: number;
}

/**
 * llama-bench at every thread count the backends use (the profile's decode threads, and its batch
 * threads): prompt processing and generation, three repetitions each, with the server's own flags
 * (repacking, flash attention, device layers), after `depthTokens` of context (-d): a served stream
 * decodes after its prompt, and each token's attention grows with the context (with reproducible
 * answers' one kernel path, tg64 after 40 tokens ran 0.8x of tg64 from an empty context here). The
 * C++ limit is the row at the server's decode threads: the same work the served stream does, so
 * the headline compares like with like.
 */
export async function llamaBench(plan: Plan, binary: string, genTokens: number, depthTokens: number): Promise<CppLimit> {
  const counts = [...new Set([plan.server.nThreads, plan.server.nThreadsBatch])].sort((a, b) => a - b);
  const result = await execa(binary, ['-m', plan.model.path, '-t', counts.join(','), '-p', '64', '-n', String(genTokens), '-d', String(depthTokens), '-r', '3', ...gpuArgs(plan), ...(plan.server.weightRepack ? [] : ['--repack', '0']), ...flashAttention(plan), '-o', 'json'], {
    reject: false,
    env: { ...process.env, ...plan.accelerator.serverEnv, ...plan.server.engineEnv },
  });
  if (result.failed) throw new WorkbenchError('llama-bench failed', 'its output is below', { details: String(result.stderr).split('\n').slice(-15).join('\n') });
  const rows = JSON.parse(String(result.stdout)) as { n_prompt: number; n_gen: number; n_threads: number; avg_ts: number }[];
  const byThreads = counts.map((threads) => ({
    threads,
    pp: rows.find((r) => r.n_threads === threads && r.n_prompt > 0 && r.n_gen === 0)?.avg_ts,
    tg: rows.find((r) => r.n_threads === threads && r.n_gen > 0 && r.n_prompt === 0)?.avg_ts,
  }));
  if (byThreads.some((t) => t.pp === undefined || t.tg === undefined)) throw new WorkbenchError('llama-bench printed no pp/tg rows', 'run it by hand with -o json to see why');
  const measured = byThreads as { threads: number; pp: number; tg: number }[];
  const asServed = measured.find((t) => t.threads === plan.server.nThreads)!;
  return {
    threads: asServed.threads,
    promptTokens: 64,
    genTokens,
    depthTokens,
    ppTokensPerSecond: Math.max(...measured.map((t) => t.pp)),
    tgTokensPerSecond: asServed.tg,
    byThreads: measured,
  };
}

/** llama-batched-bench: the engine's own aggregate decode with `pl` sequences at once. */
export interface BatchedLimit {
  threads: number;
  promptTokens: number;
  genTokens: number;
  /**
   * One row per parallel sequence count: aggregate decode (speed_tg), overall tokens/s, and the
   * generated tokens over the whole run, prompts included (what a served concurrency level counts).
   */
  byParallel: { parallel: number; tgTokensPerSecond: number; tokensPerSecond: number; completionTokensPerSecond: number; promptSeconds: number }[];
  /** Generated tokens over the whole run at the most sequences, just before and just after the served runs (the rows are their mean). */
  bracket?: Bracket;
}

/**
 * llama-batched-bench at the parallel counts the concurrency sweep uses (1 / 2 / 4 clients by
 * default), each sequence with its own prompt (no -pps) as long as the sweep's, the server's threads
 * and flags, and the context the served slots have.
 */
export async function llamaBatchedBench(plan: Plan, binary: string, parallel: number[], promptTokens: number, genTokens: number): Promise<BatchedLimit> {
  const threads = plan.server.nThreads;
  const most = Math.max(...parallel);
  const args = [
    '-m', plan.model.path,
    '-c', String(Math.max(plan.model.nCtx, most * (promptTokens + genTokens))),
    '-b', '2048', '-ub', '512',
    '-npp', String(promptTokens), '-ntg', String(genTokens), '-npl', parallel.join(','),
    '-t', String(threads), '-tb', String(plan.server.nThreadsBatch),
    ...(plan.server.weightRepack ? [] : ['--no-repack']),
    ...flashAttention(plan),
    '--output-format', 'jsonl',
  ];
  const result = await execa(binary, [...args, ...gpuArgs(plan)], { reject: false, all: true, env: { ...process.env, ...plan.accelerator.serverEnv, ...plan.server.engineEnv } });
  if (result.failed) throw new WorkbenchError('llama-batched-bench failed', 'its output is below', { details: String(result.all).split('\n').slice(-15).join('\n') });
  const rows = String(result.all)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { pl: number; tg: number; speed_tg: number; t: number; t_pp: number; speed: number });
  const byParallel = parallel.map((pl) => {
    const row = rows.find((r) => r.pl === pl);
    if (!row) throw new WorkbenchError(`llama-batched-bench printed no row for ${pl} sequences`, 'run it by hand with --output-format jsonl to see why');
    return { parallel: pl, tgTokensPerSecond: row.speed_tg, tokensPerSecond: row.speed, completionTokensPerSecond: (row.pl * row.tg) / row.t, promptSeconds: row.t_pp };
  });
  return { threads, promptTokens, genTokens, byParallel };
}

const mean = (a: number, b: number) => (a + b) / 2;

/**
 * llama-bench run just before and just after the served runs, as one limit: their mean, and both
 * tg figures kept. This VM's speed moves by a fifth within minutes (stop 42: llama-batched-bench's
 * 4-sequence decode step 24.6 ms, then 28.4 ms five minutes later), so a limit measured minutes
 * away from the served figures compared a quiet minute with a busy one.
 */
export function bracketedCppLimit(before: CppLimit, after: CppLimit): CppLimit {
  return {
    ...before,
    ppTokensPerSecond: mean(before.ppTokensPerSecond, after.ppTokensPerSecond),
    tgTokensPerSecond: mean(before.tgTokensPerSecond, after.tgTokensPerSecond),
    byThreads: before.byThreads.map((t, i) => ({ threads: t.threads, pp: mean(t.pp, after.byThreads[i]!.pp), tg: mean(t.tg, after.byThreads[i]!.tg) })),
    bracket: { before: before.tgTokensPerSecond, after: after.tgTokensPerSecond },
  };
}

/** llama-batched-bench before and after the served runs, as one limit (bracketedCppLimit says why). */
export function bracketedBatchedLimit(before: BatchedLimit, after: BatchedLimit): BatchedLimit {
  const most = (limit: BatchedLimit) => limit.byParallel.reduce((m, b) => (b.parallel > m.parallel ? b : m)).completionTokensPerSecond;
  return {
    ...before,
    byParallel: before.byParallel.map((b, i) => {
      const a = after.byParallel[i]!;
      return {
        parallel: b.parallel,
        tgTokensPerSecond: mean(b.tgTokensPerSecond, a.tgTokensPerSecond),
        tokensPerSecond: mean(b.tokensPerSecond, a.tokensPerSecond),
        completionTokensPerSecond: mean(b.completionTokensPerSecond, a.completionTokensPerSecond),
        promptSeconds: mean(b.promptSeconds, a.promptSeconds),
      };
    }),
    bracket: { before: most(before), after: most(after) },
  };
}
