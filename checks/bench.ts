#!/usr/bin/env -S npx tsx
/**
 * `make bench`: the guide's timing program done properly. A warm-up, then repeated streaming
 * runs of the guide's verification prompts and of a fixed-length prompt, and a concurrency sweep,
 * on the profile's server and on a server of every other backend; the same prompts on the raw
 * engine (llama-cpp-python in-process); llama-bench and llama-batched-bench as the C++ limits.
 * Reports JSON, markdown and an SVG chart in build/<profile>/bench/. Knobs: BENCH_RUNS, BENCH_MAX_TOKENS,
 * BENCH_CONCURRENCY (e.g. 1,2,4), BENCH_REQUESTS_PER_CLIENT, BENCH_EMBEDDINGS (embedding requests beside streams; none: leave
 * that section out).
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { displayPath, WorkbenchError } from '../scripts/lib/errors.ts';
import { knob } from './report.ts';
import { writeFileAtomic } from '../scripts/lib/atomic-write.ts';
import { planFor } from '../scripts/lib/profile/index.ts';
import { withoutRpcWorkers, withReproducible } from '../scripts/lib/profile/plan.ts';
import { workersSpread } from '../scripts/lib/rpc/workers.ts';
import { modelIsListed } from '../scripts/lib/process/readiness.ts';
import { serverApiKey } from '../scripts/lib/state/secrets.ts';
import { isMain, runMain } from '../scripts/lib/step.ts';
import { countTokens, measureChat, promptTokens, type Message, type RunMeasure } from './bench/measure.ts';
import OpenAI from 'openai';
import { backendsFrom, type ServingBackend } from '../scripts/lib/backend/index.ts';
import { benchTools, bracketedBatchedLimit, bracketedCppLimit, llamaBatchedBench, llamaBench, withTemporaryServer, type BatchedLimit, type CppLimit } from './bench/backends.ts';
import { rawEngine } from './bench/raw.ts';
import { offloadVerdict, readOffloadFromLog } from '../scripts/lib/accelerator/offload.ts';
import { statePaths } from '../scripts/lib/state/paths.ts';
import { concurrencyChart, GUIDE_FIGURES, headlineLines, headlineOf, markdownReport, type BackendBench, type BenchReport, type ConcurrencyLevel, type MetricSummaries, type RpcCost, type WakeCost } from './bench/report.ts';
import { summarize } from './bench/stats.ts';
import { mixedLoad, type MixedLoadResult } from './bench/mixed-load.ts';
import { GUIDE_VERIFICATION_PROMPTS, GUIDE_VERIFICATION_SYSTEM } from '../scripts/lib/guide.ts';
import { clientFor } from './smoke.ts';
import type { Plan, Speculation } from '../scripts/lib/plan/index.ts';
import { originOf } from '../scripts/lib/origin.ts';
import { SPECULATION_TYPES } from '../scripts/lib/profile/schema.ts';
import { speculationBench } from './bench/speculation.ts';

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

/** This bench's own six digits, in every tag: a second `make bench` on the same server asks what the first did not. */
export const BENCH_SESSION = String(100_000 + Math.floor(Math.random() * 900_000));

/**
 * The same prompt, tagged with its run number at the start: llama.cpp reuses the KV cache of a
 * repeated prefix, which would make every run after the first skip prompt evaluation. The user
 * message is tagged too, since some chat formats (gemma) drop the system message. The session
 * follows the run number: the server keeps its slots' prompts (and llama-server a prompt cache in
 * RAM) between benches, and a second bench whose tags repeated the first's measured cache hits
 * (stop 42: time to first token 22 ms at 1 client, 48 at 4, against 194 and 709 a minute before).
 */
export function tagged(messages: Message[], run: number, session: string = BENCH_SESSION): Message[] {
  const firstUser = messages.findIndex((m) => m.role === 'user');
  return messages.map((m, i) => (i === 0 || i === firstUser ? { ...m, content: `(run ${run}-${session}) ${m.content}` } : m));
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

interface Settings {
  runsPerPrompt: number;
  maxTokens: number;
  requestsPerClient: number;
  concurrency: number[];
}

/** The bench prompts' token counts, as the endpoint counts them (the fixed prompt last). */
function benchPromptCounts(client: OpenAI): Promise<number[]> {
  return Promise.all(benchPrompts().map((p) => promptTokens(client, tagged(p, 0))));
}

/** One endpoint measured: the prompts one at a time (after a warm-up), then the concurrency sweep. */
async function measureEndpoint(client: OpenAI, count: (text: string) => Promise<number>, settings: Settings, log: (line: string) => void, label: string, knownPromptCounts?: number[]) {
  const prompts = benchPrompts();
  const promptCounts = knownPromptCounts ?? (await benchPromptCounts(client));
  log(`  ${label}: warm-up (${prompts.length} requests)`);
  for (const p of prompts) await measureChat(client, p, Math.min(8, settings.maxTokens), { prompt: 0, count });
  const runs: RunMeasure[] = [];
  // The client runs on the cores the server decodes on: what it spends per streamed chunk is said beside the headline.
  const cpuBefore = process.cpuUsage();
  for (const [i, p] of prompts.entries()) {
    for (let run = 0; run < settings.runsPerPrompt; run++) runs.push(await measureChat(client, tagged(p, run), settings.maxTokens, { prompt: promptCounts[i]!, count }));
  }
  const cpu = process.cpuUsage(cpuBefore);
  const clientCpuMsPerChunk = (cpu.user + cpu.system) / 1000 / runs.reduce((sum, r) => sum + r.chunks, 0);
  const summary = summaries(runs, true);
  log(`  ${label}: TTFT p50 ${summary.ttftMs.p50.toFixed(0)} ms, decode ${summary.decodeTokensPerSecond.mean.toFixed(1)} tokens/s (${runs.length} runs)`);
  const fixed = prompts[prompts.length - 1]!;
  const levels: ConcurrencyLevel[] = [];
  let sweepRun = 1000;
  for (const clients of settings.concurrency) {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: clients }, async () => {
        const mine: RunMeasure[] = [];
        for (let r = 0; r < settings.requestsPerClient; r++) mine.push(await measureChat(client, tagged(fixed, sweepRun++), settings.maxTokens, { prompt: promptCounts[prompts.length - 1]!, count }));
        return mine;
      }),
    );
    const wallSeconds = (performance.now() - started) / 1000;
    const all = results.flat();
    const completionTokens = all.reduce((sum, r) => sum + r.completionTokens, 0);
    levels.push({
      clients,
      requests: all.length,
      wallSeconds,
      completionTokens,
      aggregateTokensPerSecond: completionTokens / wallSeconds,
      requestsPerSecond: all.length / wallSeconds,
      ttftMs: summarize(all.map((r) => r.ttftMs)),
      e2eMs: summarize(all.map((r) => r.e2eMs)),
      decodeTokensPerSecond: summarize(all.map((r) => r.decodeTokensPerSecond)),
    });
    log(`  ${label}, ${clients} clients: ${(completionTokens / wallSeconds).toFixed(1)} tokens/s aggregate, TTFT p50 ${levels[levels.length - 1]!.ttftMs.p50.toFixed(0)} ms`);
  }
  return { runs, summary, concurrency: levels, promptCounts, clientCpuMsPerChunk };
}

export async function runBench(plan: Plan, log: (line: string) => void = console.log): Promise<BenchReport> {
  const apiKey = serverApiKey(plan);
  if (!(await modelIsListed(plan.server.baseUrl, plan.model.alias, apiKey))) {
    throw new WorkbenchError(`no model server answers at ${plan.server.baseUrl} with "${plan.model.alias}"`, 'run make provision first (make status shows what runs)');
  }
  const settings: Settings = {
    runsPerPrompt: knob('BENCH_RUNS', 3),
    maxTokens: knob('BENCH_MAX_TOKENS', 64),
    requestsPerClient: knob('BENCH_REQUESTS_PER_CLIENT', 2),
    concurrency: (process.env.BENCH_CONCURRENCY ?? '1,2,4').split(',').map(Number),
  };
  if (!settings.concurrency.every((c) => Number.isInteger(c) && c > 0)) throw new WorkbenchError(`BENCH_CONCURRENCY must list client counts, not "${process.env.BENCH_CONCURRENCY}"`, 'e.g. BENCH_CONCURRENCY=1,2,4');
  const every = (process.env.BENCH_BACKENDS ?? 'both') === 'both';

  // The profile's own server first, then every other backend on a server of the bench's own.
  const [own, ...others] = backendsFrom(plan);
  // The bench's own servers serve from this machine alone: the profile's server holds its RPC
  // workers (one client each), and the network's cost is measured against that below.
  const local = withoutRpcWorkers(plan);
  const ownLabel = plan.server.parallel > 1 ? `${own!.label} -np ${plan.server.parallel}` : own!.label;
  const ownClient = clientFor(plan);
  const promptCounts = await benchPromptCounts(ownClient);
  // llama.cpp's own limits just before and just after the served runs (bracketedCppLimit says why).
  const tools = every ? await benchTools(plan) : undefined;
  const limitsBefore = tools && (await cppLimits(plan, tools, settings, promptCounts, log, 'before'));
  const served = await measureEndpoint(ownClient, (text) => countTokens(plan.server.baseUrl, apiKey, text, own!.tokenize), settings, log, ownLabel, promptCounts);
  const limitsAfter = tools && (await cppLimits(plan, tools, settings, promptCounts, log, 'after'));
  const cpp = limitsBefore && limitsAfter && bracketedCppLimit(limitsBefore.cpp, limitsAfter.cpp);
  const batched = limitsBefore && limitsAfter && bracketedBatchedLimit(limitsBefore.batched, limitsAfter.batched);
  const backends: BackendBench[] = [{ backend: own!.name, label: ownLabel, summary: served.summary, concurrency: served.concurrency }];
  // Embeddings beside 1 stream and beside every slot but one streaming (a RAG loop beside chats).
  // BENCH_EMBEDDINGS=none leaves it out (its streams run for a minute or more on a slow link).
  const mixed: MixedLoadResult[] = [];
  const embeddings = process.env.BENCH_EMBEDDINGS === 'none' ? 0 : knob('BENCH_EMBEDDINGS', 20);
  for (const streams of [...new Set([1, Math.max(1, plan.server.parallel - 1)])]) {
    if (plan.server.parallel < 2 || embeddings === 0) break;
    const result = await mixedLoad({ baseUrl: plan.server.baseUrl, ...(apiKey ? { apiKey } : {}), streams, embeddings, gapMs: 500, streamTokens: 4 * settings.maxTokens + 1500, timeoutMs: 60_000 });
    mixed.push(result);
    const pace = result.interTokenMs.withEmbeddings.p95 / result.interTokenMs.alone.p95;
    log(`  embeddings beside ${streams} stream${streams === 1 ? '' : 's'}: p50 ${result.embeddings.p50Ms.toFixed(0)} ms, p95 ${result.embeddings.p95Ms.toFixed(0)} ms; the stream's inter-token p95 ${result.interTokenMs.alone.p95.toFixed(1)} ms alone, ${result.interTokenMs.withEmbeddings.p95.toFixed(1)} ms beside them (${pace.toFixed(2)}x: ${pace <= 1.5 ? 'pace kept' : 'slowed past 1.5x'})`);
  }
  for (const backend of every ? others : []) {
    log(`  ${backend.label} on a port of the bench's own (built once from the same source)`);
    backends.push(
      await withTemporaryServer(local, backend, async (baseUrl, parallel) => {
        const label = parallel > 1 ? `${backend.label} -np ${parallel}` : backend.label;
        const client = new OpenAI({ baseURL: baseUrl, apiKey: 'none', timeout: 300_000, maxRetries: 0 });
        const measured = await measureEndpoint(client, (text) => countTokens(baseUrl, undefined, text, backend.tokenize), settings, log, label);
        return { backend: backend.name, label, summary: measured.summary, concurrency: measured.concurrency };
      }),
    );
  }

  // What reproducible answers cost: the profile's backend both ways, one stream, on servers of the bench's own.
  const cost: Partial<Record<'on' | 'off', MetricSummaries>> = {};
  for (const reproducible of [true, false]) {
    const variant = withReproducible(local, reproducible);
    const label = `${own!.label}, server.reproducible: ${reproducible}`;
    cost[reproducible ? 'on' : 'off'] = await withTemporaryServer(variant, own!, async (baseUrl) => {
      const client = new OpenAI({ baseURL: baseUrl, apiKey: 'none', timeout: 300_000, maxRetries: 0 });
      return (await measureEndpoint(client, (text) => countTokens(baseUrl, undefined, text, own!.tokenize), { ...settings, concurrency: [] }, log, label)).summary;
    });
  }
  const reproducibleCost = { setting: plan.server.reproducible, on: cost.on!, off: cost.off! };
  log(`  reproducible answers: TTFT p50 ${reproducibleCost.on.ttftMs.p50.toFixed(0)} ms against ${reproducibleCost.off.ttftMs.p50.toFixed(0)} ms, decode ${reproducibleCost.on.decodeTokensPerSecond.mean.toFixed(1)} against ${reproducibleCost.off.decodeTokensPerSecond.mean.toFixed(1)} tokens/s`);

  const wake = own!.idleSleep ? await wakeCost(local, own!, log) : undefined;
  const rpc = plan.distributed?.workers.length ? await rpcCost(plan, local, own!, served.summary, settings, log) : undefined;

  // Draft-free speculation, each mode (BENCH_SPECULATION), where the backend has it: the default it justifies.
  const modes = speculationModes(process.env.BENCH_SPECULATION);
  const mostClients = Math.max(1, ...settings.concurrency);
  const speculation = own!.speculates && modes.length ? await speculationBench(local, own!, { modes, maxTokens: Math.max(settings.maxTokens, 16), clients: mostClients, guidePrompts: benchPrompts() }, log) : undefined;
  if (speculation) log(`  speculation: the default these figures justify: ${speculation.verdict}`);

  log('  raw engine: llama-cpp-python in-process');
  const raw = await rawEngine(plan, benchPrompts(), settings.runsPerPrompt, settings.maxTokens, served.promptCounts, tagged);
  const rawSummary = summaries(raw.runs, false);
  log(`  raw: TTFT p50 ${rawSummary.ttftMs.p50.toFixed(0)} ms, decode ${rawSummary.decodeTokensPerSecond.mean.toFixed(1)} tokens/s`);

  if (cpp) for (const b of backends) b.decodeVsCpp = b.summary.decodeTokensPerSecond.mean / cpp.tgTokensPerSecond;

  const isGuideModel = /ELYZA-japanese-Llama-2-7b-fast-instruct/i.test(plan.model.sourceText);
  return {
    profile: plan.profile.name,
    model: { alias: plan.model.alias, file: plan.model.fileName },
    llamaCppVersion: raw.version,
    at: new Date().toISOString(),
    device: { accelerator: plan.accelerator.name, device: plan.accelerator.device, offload: offloadVerdict(plan.accelerator, readOffloadFromLog(statePaths(plan).serverLog)).line },
    settings: { runsPerPrompt: settings.runsPerPrompt, maxTokens: settings.maxTokens, nCtx: plan.model.nCtx, nThreads: plan.server.nThreads, concurrency: settings.concurrency, requestsPerClient: settings.requestsPerClient, speculative: plan.server.speculative, promptsOneAtATime: plan.server.promptsOneAtATime },
    served: { backend: own!.name, runs: served.runs, summary: served.summary, clientCpuMsPerChunk: served.clientCpuMsPerChunk },
    raw: { loadSeconds: raw.loadSeconds, runs: raw.runs, summary: rawSummary },
    comparison: {
      decodeRatio: served.summary.decodeTokensPerSecond.mean / rawSummary.decodeTokensPerSecond.mean,
      promptRatio: served.summary.promptTokensPerSecond.mean / rawSummary.promptTokensPerSecond.mean,
      ttftOverheadMs: served.summary.ttftMs.p50 - rawSummary.ttftMs.p50,
    },
    concurrency: served.concurrency,
    backends,
    ...(cpp ? { cpp } : {}),
    ...(batched ? { batched } : {}),
    ...(mixed.length ? { mixed } : {}),
    reproducibleCost,
    ...(wake ? { wake } : {}),
    ...(speculation ? { speculation } : {}),
    ...(rpc ? { rpc } : {}),
    ...(isGuideModel ? { guide: GUIDE_FIGURES } : {}),
    headline: headlineOf(served.summary, served.concurrency, cpp, batched),
  };
}

/**
 * llama-bench and llama-batched-bench with the server's flags, shaped as the served runs: decode
 * after the served prompts' mean length (the context their decode ran after), the sweep's fixed
 * prompt at each client count.
 */
async function cppLimits(plan: Plan, tools: { bench: string; batched: string }, settings: Settings, promptCounts: number[], log: (line: string) => void, when: 'before' | 'after'): Promise<{ cpp: CppLimit; batched: BatchedLimit }> {
  log(`  llama.cpp from the same source, ${when} the served runs: llama-bench and llama-batched-bench`);
  const depth = Math.round(promptCounts.reduce((sum, n) => sum + n, 0) / promptCounts.length);
  const cpp = await llamaBench(plan, tools.bench, settings.maxTokens, depth);
  for (const t of cpp.byThreads) log(`  llama-bench, ${t.threads} thread${t.threads === 1 ? '' : 's'}: pp${cpp.promptTokens} ${t.pp.toFixed(1)} tokens/s, tg${cpp.genTokens} ${t.tg.toFixed(1)} tokens/s, after ${depth} tokens`);
  const batched = await llamaBatchedBench(plan, tools.batched, settings.concurrency, promptCounts[promptCounts.length - 1]!, settings.maxTokens);
  for (const b of batched.byParallel) log(`  llama-batched-bench, ${b.parallel} sequence${b.parallel === 1 ? '' : 's'}: ${b.completionTokensPerSecond.toFixed(1)} generated tokens/s over the whole run, prompts ${(b.promptSeconds * 1000).toFixed(0)} ms`);
  return { cpp, batched };
}

/** BENCH_SPECULATION: the modes to measure (comma-separated; none: skip), off first; default every mode. */
export function speculationModes(value: string | undefined): Speculation[] {
  if (value === 'none') return [];
  const asked = (value ?? SPECULATION_TYPES.join(',')).split(',').map((m) => m.trim()).filter(Boolean);
  const unknown = asked.filter((m) => !(SPECULATION_TYPES as readonly string[]).includes(m));
  if (unknown.length) throw new WorkbenchError(`BENCH_SPECULATION names ${unknown.join(', ')}, which server.speculative does not know`, `list some of ${SPECULATION_TYPES.join(', ')}, or none`);
  return ['off' as const, ...(asked as Speculation[]).filter((m) => m !== 'off')];
}

/**
 * server.idle_sleep's price: a server of the bench's own that sleeps after 2 s idle; the first
 * token of a request when awake, then, once /props says it sleeps, of the request that wakes it.
 */
/** The served model over its RPC workers (measured above) against the same build on this machine alone, one stream. */
async function rpcCost(plan: Plan, local: Plan, backend: ServingBackend, overRpc: MetricSummaries, settings: Settings, log: (line: string) => void): Promise<RpcCost> {
  const oneHost = await withTemporaryServer(local, backend, async (baseUrl) => {
    const client = new OpenAI({ baseURL: baseUrl, apiKey: 'none', timeout: 300_000, maxRetries: 0 });
    return (await measureEndpoint(client, (text) => countTokens(baseUrl, undefined, text, backend.tokenize), { ...settings, concurrency: [] }, log, `${backend.label} on this machine alone`)).summary;
  });
  const decodeRatio = overRpc.decodeTokensPerSecond.mean / oneHost.decodeTokensPerSecond.mean;
  const workers = plan.distributed!.workers.map((w) => w.endpoint);
  log(`  over RPC workers (${workers.join(', ')}): decode ${overRpc.decodeTokensPerSecond.mean.toFixed(1)} tokens/s against ${oneHost.decodeTokensPerSecond.mean.toFixed(1)} on one host (${decodeRatio.toFixed(2)}x), TTFT p50 ${overRpc.ttftMs.p50.toFixed(0)} against ${oneHost.ttftMs.p50.toFixed(0)} ms`);
  return { workers, spread: workersSpread(plan)?.line ?? 'no loading report', overRpc, oneHost, decodeRatio };
}

async function wakeCost(plan: Plan, backend: ServingBackend, log: (line: string) => void): Promise<WakeCost> {
  const idleSleepSeconds = 2;
  const sleepy: Plan = { ...plan, server: { ...plan.server, idleSleepSeconds } };
  return withTemporaryServer(sleepy, backend, async (baseUrl) => {
    const client = new OpenAI({ baseURL: baseUrl, apiKey: 'none', timeout: 300_000, maxRetries: 0 });
    const firstToken = async (): Promise<number> => {
      const started = performance.now();
      let first: number | undefined;
      const stream = await client.chat.completions.create({ model: plan.model.alias, messages: [{ role: 'user', content: 'Say hi.' }], max_tokens: 8, temperature: 0, stream: true });
      for await (const chunk of stream) if (first === undefined && chunk.choices[0]?.delta?.content) first = performance.now() - started;
      return first ?? performance.now() - started;
    };
    await firstToken();
    const awakeTtftMs = await firstToken();
    const idleFrom = performance.now();
    const origin = originOf(baseUrl);
    while (!(await backend.idleSleep!.isSleeping(origin, undefined))) {
      if (performance.now() - idleFrom > 60_000) throw new WorkbenchError(`the bench's ${backend.label} with --sleep-idle-seconds ${idleSleepSeconds} did not sleep within 60 s`, 'its /props never said is_sleeping');
      await sleep(100);
    }
    const asleepAfterSeconds = (performance.now() - idleFrom) / 1000;
    const wakeTtftMs = await firstToken();
    log(`  idle sleep: the request that wakes the server waits ${wakeTtftMs.toFixed(0)} ms for its first token, ${awakeTtftMs.toFixed(0)} ms awake (asleep ${asleepAfterSeconds.toFixed(1)} s after the last request, idle_sleep ${idleSleepSeconds}s)`);
    return { idleSleepSeconds, awakeTtftMs, wakeTtftMs, asleepAfterSeconds };
  });
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
    console.log(`benchmarking profile "${plan.profile.name}" at ${plan.server.baseUrl}`);
    const report = await runBench(plan);
    const files = writeBenchReports(plan, report);
    console.log('');
    for (const line of headlineLines(report)) console.log(line);
    console.log(`reports: ${files.map(displayPath).join(', ')}`);
  });
}
