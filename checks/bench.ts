#!/usr/bin/env -S npx tsx
/**
 * `make bench`: the guide's timing program done properly. A warm-up, then repeated streaming
 * runs of the guide's verification prompts and of a fixed-length prompt; the same prompts on
 * the raw engine (llama-cpp-python in-process); a concurrency sweep. Reports JSON, markdown and
 * an SVG chart in build/<profile>/bench/. Knobs: BENCH_RUNS, BENCH_MAX_TOKENS,
 * BENCH_CONCURRENCY (e.g. 1,2,4), BENCH_REQUESTS_PER_CLIENT.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { displayPath, WorkbenchError } from '../scripts/lib/errors.ts';
import { writeFileAtomic } from '../scripts/lib/atomic-write.ts';
import { planFor, REPO_ROOT } from '../scripts/lib/profile/index.ts';
import type { Plan } from '../scripts/lib/profile/plan.ts';
import { requirePythonEnv } from '../scripts/lib/llama-cpp/python-env.ts';
import { modelIsListed } from '../scripts/lib/process/readiness.ts';
import { serverApiKey } from '../scripts/lib/state/secrets.ts';
import { isMain, runMain } from '../scripts/lib/step.ts';
import { countTokens, measureChat, promptTokens, type Message, type RunMeasure } from './bench/measure.ts';
import { concurrencyChart, GUIDE_FIGURES, markdownReport, type BenchReport, type ConcurrencyLevel, type MetricSummaries } from './bench/report.ts';
import { summarize } from './bench/stats.ts';
import { GUIDE_VERIFICATION_PROMPTS, GUIDE_VERIFICATION_SYSTEM } from '../scripts/lib/guide.ts';
import { clientFor } from './smoke.ts';

/** A fixed-length prompt, the same every run, for the raw comparison and the concurrency sweep. */
const FIXED_PROMPT =
  'Write a detailed guide for a first visit to Tokyo. ' +
  'Cover transport from the airport, three neighbourhoods worth a day each, food to try, etiquette on trains, ' +
  'and how to plan a day trip to Mount Fuji. Use short paragraphs and plain language.';

export function benchPrompts(): Message[][] {
  const guide = GUIDE_VERIFICATION_PROMPTS.map((content): Message[] => [
    { role: 'system', content: GUIDE_VERIFICATION_SYSTEM },
    { role: 'user', content },
  ]);
  return [...guide, [{ role: 'user', content: FIXED_PROMPT }]];
}

/**
 * The same prompt, tagged with its run number at the start: llama.cpp reuses the KV cache of a
 * repeated prefix, which would make every run after the first skip prompt evaluation. The user
 * message is tagged too, since some chat formats (gemma) drop the system message.
 */
export function tagged(messages: Message[], run: number): Message[] {
  const firstUser = messages.findIndex((m) => m.role === 'user');
  return messages.map((m, i) => (i === 0 || i === firstUser ? { ...m, content: `(run ${run}) ${m.content}` } : m));
}

function knob(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new WorkbenchError(`${name} must be a positive whole number, not "${process.env[name]}"`, `e.g. ${name}=${fallback}`);
  return value;
}

function summaries(runs: RunMeasure[], withItl: boolean): MetricSummaries {
  return {
    ttftMs: summarize(runs.map((r) => r.ttftMs)),
    decodeTokensPerSecond: summarize(runs.map((r) => r.decodeTokensPerSecond)),
    promptTokensPerSecond: summarize(runs.map((r) => r.promptTokensPerSecond)),
    e2eMs: summarize(runs.map((r) => r.e2eMs)),
    ...(withItl ? { itlMs: summarize(runs.map((r) => r.itlMs)) } : {}),
  };
}

async function rawEngine(plan: Plan, prompts: Message[][], runsPerPrompt: number, maxTokens: number, promptCounts: number[]) {
  const env = requirePythonEnv(plan);
  const dir = mkdtempSync(join(tmpdir(), 'wb-bench-'));
  try {
    const request = join(dir, 'request.json');
    writeFileSync(
      request,
      JSON.stringify({
        model: plan.model.path,
        n_ctx: plan.model.nCtx,
        n_threads: plan.server.nThreads ?? null,
        chat_format: plan.model.chatFormat ?? null,
        pooling: plan.model.pooling,
        max_tokens: maxTokens,
        warmup: prompts.slice(0, 1),
        runs: prompts.flatMap((p) => Array.from({ length: runsPerPrompt }, (_, run) => tagged(p, run))),
      }),
    );
    const result = await execa(env.python, [join(REPO_ROOT, 'checks', 'bench', 'raw_bench.py'), request], { reject: false });
    if (result.failed) throw new WorkbenchError('the raw engine benchmark failed', 'read its output below', { details: String(result.stderr).split('\n').slice(-15).join('\n') });
    const raw = JSON.parse(String(result.stdout).trim().split('\n').pop() ?? '{}') as {
      load_seconds: number;
      llama_cpp_version: string;
      runs: { ttft_ms: number; e2e_ms: number; decode_seconds: number; completion_tokens: number; finish_reason: string; chunks: number }[];
    };
    const runs: RunMeasure[] = raw.runs.map((r, i) => {
      const promptIndex = Math.floor(i / runsPerPrompt);
      const prompt = prompts[promptIndex]!;
      const tokens = promptCounts[promptIndex]!;
      return {
        prompt: prompt[prompt.length - 1]!.content,
        promptTokens: tokens,
        completionTokens: r.completion_tokens,
        finishReason: r.finish_reason,
        chunks: r.chunks,
        ttftMs: r.ttft_ms,
        e2eMs: r.e2e_ms,
        decodeTokensPerSecond: r.completion_tokens > 1 && r.decode_seconds > 0 ? (r.completion_tokens - 1) / r.decode_seconds : NaN,
        promptTokensPerSecond: tokens / (r.ttft_ms / 1000),
        itlMs: NaN,
      };
    });
    return { loadSeconds: raw.load_seconds, version: raw.llama_cpp_version, runs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runBench(plan: Plan, log: (line: string) => void = console.log): Promise<BenchReport> {
  const apiKey = serverApiKey(plan);
  if (!(await modelIsListed(plan.server.baseUrl, plan.model.alias, apiKey))) {
    throw new WorkbenchError(`no model server answers at ${plan.server.baseUrl} with "${plan.model.alias}"`, 'run make provision first (make status shows what runs)');
  }
  const runsPerPrompt = knob('BENCH_RUNS', 3);
  const maxTokens = knob('BENCH_MAX_TOKENS', 64);
  const requestsPerClient = knob('BENCH_REQUESTS_PER_CLIENT', 2);
  const concurrency = (process.env.BENCH_CONCURRENCY ?? '1,2,4').split(',').map(Number);
  if (!concurrency.every((c) => Number.isInteger(c) && c > 0)) throw new WorkbenchError(`BENCH_CONCURRENCY must list client counts, not "${process.env.BENCH_CONCURRENCY}"`, 'e.g. BENCH_CONCURRENCY=1,2,4');

  const client = clientFor(plan);
  const prompts = benchPrompts();
  const count = (text: string) => countTokens(plan.server.baseUrl, apiKey, text);
  const promptCounts = await Promise.all(prompts.map((p) => promptTokens(client, tagged(p, 0))));

  log(`  warm-up (${prompts.length} requests)`);
  for (const p of prompts) await measureChat(client, p, Math.min(8, maxTokens), { prompt: 0, count });

  const served: RunMeasure[] = [];
  for (const [i, p] of prompts.entries()) {
    for (let run = 0; run < runsPerPrompt; run++) served.push(await measureChat(client, tagged(p, run), maxTokens, { prompt: promptCounts[i]!, count }));
  }
  const servedSummary = summaries(served, true);
  log(`  served: TTFT p50 ${servedSummary.ttftMs.p50.toFixed(0)} ms, decode ${servedSummary.decodeTokensPerSecond.mean.toFixed(1)} tokens/s (${served.length} runs)`);

  log('  raw engine: llama-cpp-python in-process');
  const raw = await rawEngine(plan, prompts, runsPerPrompt, maxTokens, promptCounts);
  const rawSummary = summaries(raw.runs, false);
  log(`  raw: TTFT p50 ${rawSummary.ttftMs.p50.toFixed(0)} ms, decode ${rawSummary.decodeTokensPerSecond.mean.toFixed(1)} tokens/s`);

  const fixed = prompts[prompts.length - 1]!;
  const levels: ConcurrencyLevel[] = [];
  let sweepRun = 1000;
  for (const clients of concurrency) {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: clients }, async () => {
        const mine: RunMeasure[] = [];
        for (let r = 0; r < requestsPerClient; r++) mine.push(await measureChat(client, tagged(fixed, sweepRun++), maxTokens, { prompt: promptCounts[prompts.length - 1]!, count }));
        return mine;
      }),
    );
    const wallSeconds = (performance.now() - started) / 1000;
    const runs = results.flat();
    const completionTokens = runs.reduce((sum, r) => sum + r.completionTokens, 0);
    levels.push({
      clients,
      requests: runs.length,
      wallSeconds,
      completionTokens,
      aggregateTokensPerSecond: completionTokens / wallSeconds,
      requestsPerSecond: runs.length / wallSeconds,
      ttftMs: summarize(runs.map((r) => r.ttftMs)),
      e2eMs: summarize(runs.map((r) => r.e2eMs)),
      decodeTokensPerSecond: summarize(runs.map((r) => r.decodeTokensPerSecond)),
    });
    log(`  ${clients} clients: ${(completionTokens / wallSeconds).toFixed(1)} tokens/s aggregate, TTFT p50 ${levels[levels.length - 1]!.ttftMs.p50.toFixed(0)} ms`);
  }

  const isGuideModel = /ELYZA-japanese-Llama-2-7b-fast-instruct/i.test(plan.model.sourceText);
  return {
    profile: plan.profile.name,
    model: { alias: plan.model.alias, file: plan.model.fileName },
    llamaCppVersion: raw.version,
    at: new Date().toISOString(),
    settings: { runsPerPrompt, maxTokens, nCtx: plan.model.nCtx, nThreads: plan.server.nThreads ?? 'auto', concurrency, requestsPerClient },
    served: { runs: served, summary: servedSummary },
    raw: { loadSeconds: raw.loadSeconds, runs: raw.runs, summary: rawSummary },
    comparison: {
      decodeRatio: servedSummary.decodeTokensPerSecond.mean / rawSummary.decodeTokensPerSecond.mean,
      promptRatio: servedSummary.promptTokensPerSecond.mean / rawSummary.promptTokensPerSecond.mean,
      ttftOverheadMs: servedSummary.ttftMs.p50 - rawSummary.ttftMs.p50,
    },
    concurrency: levels,
    ...(isGuideModel ? { guide: GUIDE_FIGURES } : {}),
  };
}

export function writeBenchReports(plan: Plan, report: BenchReport): string[] {
  const dir = join(plan.paths.buildDir, 'bench');
  const files = {
    'bench.json': `${JSON.stringify(report, null, 2)}\n`,
    'bench.md': markdownReport(report),
    'concurrency.svg': concurrencyChart(report),
  };
  return Object.entries(files).map(([name, content]) => {
    writeFileAtomic(join(dir, name), content);
    return join(dir, name);
  });
}

if (isMain(import.meta.url)) {
  await runMain(async () => {
    const plan = planFor();
    if (plan.server.backend !== 'llama-cpp-python') {
      throw new WorkbenchError(
        `make bench measures llama_cpp.server against llama-cpp-python in-process; profile "${plan.profile.name}" serves with ${plan.server.backend}`,
        'run make bench with a llama-cpp-python profile (PROFILE=default); the llama-server comparison with llama-bench is not built yet',
      );
    }
    console.log(`benchmarking profile "${plan.profile.name}" at ${plan.server.baseUrl}`);
    const report = await runBench(plan);
    const files = writeBenchReports(plan, report);
    console.log(`\nserved/raw decode ${report.comparison.decodeRatio.toFixed(2)}, TTFT overhead ${report.comparison.ttftOverheadMs.toFixed(0)} ms`);
    console.log(`reports: ${files.map(displayPath).join(', ')}`);
  });
}
