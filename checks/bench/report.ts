/** The bench report's shape, and how it is written: JSON, a markdown table, an SVG chart. */
import type { SpeculationBench } from './speculation.ts';
import type { MixedLoadResult } from './mixed-load.ts';
import type { BatchedLimit, Bracket, CppLimit } from './backends.ts';
import type { RunMeasure } from './measure.ts';
import type { Summary } from './stats.ts';
import type { BackendName, Speculation } from '../../scripts/lib/plan/index.ts';

/** The model served over RPC workers against the same model and build on this machine alone: the network's cost. */
export interface RpcCost {
  workers: string[];
  /** How the served model is spread (the server's loading report). */
  spread: string;
  overRpc: MetricSummaries;
  oneHost: MetricSummaries;
  /** Decode tokens/s over RPC / on one host. */
  decodeRatio: number;
}

/** What idle sleep costs the request that wakes the server (backends that sleep: llama-server). */
export interface WakeCost {
  idleSleepSeconds: number;
  awakeTtftMs: number;
  wakeTtftMs: number;
  /** How long after its last request /props said it slept. */
  asleepAfterSeconds: number;
}

export interface MetricSummaries {
  ttftMs: Summary;
  decodeTokensPerSecond: Summary;
  promptTokensPerSecond: Summary;
  e2eMs: Summary;
  itlMs?: Summary;
}

export interface ConcurrencyLevel {
  clients: number;
  requests: number;
  wallSeconds: number;
  completionTokens: number;
  aggregateTokensPerSecond: number;
  requestsPerSecond: number;
  ttftMs: Summary;
  e2eMs: Summary;
  decodeTokensPerSecond: Summary;
}

export interface BenchReport {
  profile: string;
  model: { alias: string; file: string };
  llamaCppVersion: string;
  at: string;
  /** What it ran on: the accelerator, the device, and the served model's offload as the server reported it. */
  device?: { accelerator: string; device: string; offload: string };
  /** promptsOneAtATime: the server takes prompts that wait together one to a batch (plan.server.promptsOneAtATime). */
  settings: { runsPerPrompt: number; maxTokens: number; nCtx: number; nThreads: number | 'auto'; concurrency: number[]; requestsPerClient: number; speculative: Speculation; promptsOneAtATime?: boolean };
  /**
   * The profile's own server, of the profile's backend. clientCpuMsPerChunk: the CPU the bench's
   * client (the official openai client, in the bench's process) spent per streamed chunk of the
   * one-stream runs, on the same cores as the server (llama-bench has no client).
   */
  served: { backend: BackendBench['backend']; runs: RunMeasure[]; summary: MetricSummaries; clientCpuMsPerChunk?: number };
  raw: { loadSeconds: number; runs: RunMeasure[]; summary: MetricSummaries };
  comparison: { decodeRatio: number; ttftOverheadMs: number; promptRatio: number };
  concurrency: ConcurrencyLevel[];
  /** Each serving backend on the same model and threads (the profile's first). */
  backends?: BackendBench[];
  /** llama-bench at the same threads: the C++ limit. */
  cpp?: CppLimit;
  /** llama-batched-bench at the concurrency levels: the engine's own aggregate for parallel sequences. */
  batched?: BatchedLimit;
  /** Embeddings beside streams on the profile's server: their latency, and the streams' pace (mixed-load.ts). */
  mixed?: MixedLoadResult[];
  /** The profile's backend with server.reproducible on and off, one stream: what reproducible answers cost. */
  reproducibleCost?: { setting: boolean; on: MetricSummaries; off: MetricSummaries };
  /** server.idle_sleep: the first token of the request that wakes a sleeping server, against one awake. */
  wake?: WakeCost;
  /** server.speculative: each mode on the guide's prompts and code rewrites, and the default it justifies. */
  speculation?: SpeculationBench;
  /** distributed.rpc_workers: tokens/s over the workers against one host. */
  rpc?: RpcCost;
  guide?: GuideFigures;
  /** How far the profile's server is from the engine itself, like for like: the report's first lines. */
  headline?: Headline;
}

/**
 * The served endpoint against llama.cpp's own tools run with the server's flags: one stream
 * against llama-bench's tg at the server's decode threads, and the most clients against
 * llama-batched-bench at that many sequences, both as generated tokens over the whole run
 * (prompts included); and the time to first token at 1 client and at the most.
 */
export interface Headline {
  decodeVsLlamaBench?: { served: number; engine: number; ratio: number };
  aggregateVsBatched?: { clients: number; served: number; engine: number; ratio: number };
  ttftP50Ms: { clients: number; ms: number }[];
  /**
   * The most clients' prompts arriving at once, at the engine's own prompt speed (llama-batched-bench):
   * the first tokens' p50 if they were taken one at a time (llama-server with
   * plan.server.promptsOneAtATime), and all in one batch (without). What the served TTFT at that
   * many clients is held to when the prompts arrive together.
   */
  ttftArrivingTogether?: { clients: number; oneAtATimeMs: number; oneBatchMs: number };
}

/** The median of 1..n times one prompt's time: the p50 of n first tokens when prompts are taken one after another. */
function oneAtATimeP50(n: number, oneSeconds: number): number {
  const times = Array.from({ length: n }, (_, i) => (i + 1) * oneSeconds);
  return n % 2 ? times[(n - 1) / 2]! : (times[n / 2 - 1]! + times[n / 2]!) / 2;
}

export function headlineOf(served: MetricSummaries, concurrency: ConcurrencyLevel[], cpp: CppLimit | undefined, batched: BatchedLimit | undefined): Headline {
  const one = concurrency.find((c) => c.clients === 1);
  const most = concurrency.reduce<ConcurrencyLevel | undefined>((best, c) => (!best || c.clients > best.clients ? c : best), undefined);
  const engineAtMost = most && batched?.byParallel.find((b) => b.parallel === most.clients);
  const engineAtOne = batched?.byParallel.find((b) => b.parallel === 1);
  const decode = served.decodeTokensPerSecond.mean;
  return {
    ...(cpp ? { decodeVsLlamaBench: { served: decode, engine: cpp.tgTokensPerSecond, ratio: decode / cpp.tgTokensPerSecond } } : {}),
    ...(most && engineAtMost
      ? { aggregateVsBatched: { clients: most.clients, served: most.aggregateTokensPerSecond, engine: engineAtMost.completionTokensPerSecond, ratio: most.aggregateTokensPerSecond / engineAtMost.completionTokensPerSecond } }
      : {}),
    ttftP50Ms: [...new Map([one, most].flatMap((c) => (c ? [[c.clients, { clients: c.clients, ms: c.ttftMs.p50 }] as const] : []))).values()],
    ...(most && most.clients > 1 && engineAtMost && engineAtOne
      ? { ttftArrivingTogether: { clients: most.clients, oneAtATimeMs: oneAtATimeP50(most.clients, engineAtOne.promptSeconds) * 1000, oneBatchMs: engineAtMost.promptSeconds * 1000 } }
      : {}),
  };
}

/** The headline as printed by make bench and at the top of bench.md; the raw engine second. */
export function headlineLines(report: BenchReport): string[] {
  const h = report.headline;
  const lines: string[] = [];
  if (h?.decodeVsLlamaBench) {
    const d = h.decodeVsLlamaBench;
    lines.push(`served ÷ llama-bench tg (1 stream, ${report.cpp?.threads ?? report.settings.nThreads} threads, the server's flags${report.cpp ? `, after ${report.cpp.depthTokens} tokens as the served prompts` : ''}): ${d.ratio.toFixed(2)} (${f1(d.served)} / ${f1(d.engine)} tokens/s${bracketed(report.cpp?.bracket)})`);
    const clientMs = report.served.clientCpuMsPerChunk;
    if (clientMs !== undefined && Number.isFinite(clientMs)) {
      lines.push(`  the bench's client (the official openai client) spent ${clientMs.toFixed(2)} ms of CPU per streamed token on the cores the server decodes on (${f1((clientMs * d.served) / 10)}% of a core at the served speed); llama-bench has no client`);
    }
    // llama-bench cannot speculate: a speculating server's figure is said as such, and the same
    // build without drafts (the speculation section's off server) is put beside it.
    const speculative = report.settings.speculative;
    const off = report.speculation?.runs.find((r) => r.mode === 'off');
    if (speculative !== 'off') {
      lines.push(`  the server speculates (server.speculative: ${speculative}), llama-bench does not${off ? `; the same server with it off: ${(off.guideDecode / d.engine).toFixed(2)} (${f1(off.guideDecode)} tokens/s on the guide's prompts, asked once each)` : ''}`);
    }
  }
  if (h?.aggregateVsBatched) {
    const a = h.aggregateVsBatched;
    lines.push(`served ÷ llama-batched-bench (${a.clients} clients, generated tokens over the whole run): ${a.ratio.toFixed(2)} (${f1(a.served)} / ${f1(a.engine)} tokens/s${bracketed(report.batched?.bracket)})`);
  }
  if (h?.ttftP50Ms.length) lines.push(`time to first token p50: ${h.ttftP50Ms.map((t) => `${f0(t.ms)} ms at ${t.clients} client${t.clients === 1 ? '' : 's'}`).join(', ')}`);
  if (h?.ttftArrivingTogether) {
    const t = h.ttftArrivingTogether;
    lines.push(`  ${t.clients} prompts arriving at once, at the engine's own prompt speed (llama-batched-bench): first tokens p50 ${f0(t.oneAtATimeMs)} ms taken one at a time, ${f0(t.oneBatchMs)} ms in one batch${report.settings.promptsOneAtATime === undefined ? '' : ` (the server takes them ${report.settings.promptsOneAtATime ? 'one at a time' : 'in one batch'})`}`);
  }
  lines.push(`served ÷ raw engine decode (llama-cpp-python in-process): ${report.comparison.decodeRatio.toFixed(2)}; the server adds ${f0(report.comparison.ttftOverheadMs)} ms to the first token`);
  return lines;
}

/** A C++ limit's two runs around the served ones, or nothing where it ran once. */
function bracketed(bracket: Bracket | undefined): string {
  return bracket ? `; the engine ${f1(bracket.before)} just before the served runs, ${f1(bracket.after)} just after` : '';
}

export interface BackendBench {
  backend: BackendName;
  label: string;
  summary: MetricSummaries;
  concurrency: ConcurrencyLevel[];
  /** Served single-stream decode over llama-bench tg. */
  decodeVsCpp?: number;
}

/** The guide's own figures (docs/decisions.md#the-guide: ELYZA 7B q4_K_M, 16 GB laptop CPU). */
export interface GuideFigures {
  decodeTokensPerSecond: number;
  promptTokensPerSecond: { tokens: number; tokensPerSecond: number }[];
  embeddings: { tokens: number; seconds: number };
  verificationTokensPerSecond: number[];
}

export const GUIDE_FIGURES: GuideFigures = {
  decodeTokensPerSecond: 4.15,
  promptTokensPerSecond: [
    { tokens: 12, tokensPerSecond: 8.97 },
    { tokens: 42, tokensPerSecond: 1.66 },
  ],
  embeddings: { tokens: 13, seconds: 1.45 },
  verificationTokensPerSecond: [0.8, 3.5],
};

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : 'n/a');

/** A table of summaries, one metric a row; ms figures without decimals, rates with one. */
function summaryTable(summaries: MetricSummaries, labels: { decode: string; prompt: string }): string[] {
  const rows: [string, Summary | undefined, (n: number) => string][] = [
    ['time to first token (ms)', summaries.ttftMs, f0],
    [labels.decode, summaries.decodeTokensPerSecond, f1],
    [labels.prompt, summaries.promptTokensPerSecond, f1],
    ['end-to-end latency (ms)', summaries.e2eMs, f0],
    ['inter-token latency (ms)', summaries.itlMs, f1],
  ];
  return [
    '| metric | mean | p50 | p95 | n |',
    '|---|---:|---:|---:|---:|',
    ...rows.filter(([, s]) => s !== undefined).map(([name, s, format]) => `| ${name} | ${format(s!.mean)} | ${format(s!.p50)} | ${format(s!.p95)} | ${s!.n} |`),
  ];
}

export function markdownReport(report: BenchReport): string {
  const { served, raw, comparison } = report;
  const lines = [
    `# Benchmark: ${report.model.alias} (profile ${report.profile})`,
    '',
    `llama-cpp-python ${report.llamaCppVersion}, n_ctx ${report.settings.nCtx}, threads ${report.settings.nThreads}, ` +
      `max_tokens ${report.settings.maxTokens}, ${report.settings.runsPerPrompt} runs per prompt after a warm-up; ${report.at}.`,
    ...(report.device ? [`Device: ${report.device.accelerator} on ${report.device.device}; the served model ${report.device.offload}. llama-bench and llama-batched-bench run on the same device.`] : []),
    '',
    ...headlineLines(report).map((line) => `- ${line}`),
    '',
    `## Served endpoint: the profile's ${report.backends?.[0]?.label ?? served.backend} (streaming chat, official openai client)`,
    '',
    ...summaryTable(served.summary, { decode: 'decode tokens/s (after the first token)', prompt: 'prompt tokens/s (prompt tokens / TTFT)' }),
    '',
    '## Raw engine (llama-cpp-python in-process, same model, context and threads)',
    '',
    ...summaryTable(raw.summary, { decode: 'decode tokens/s', prompt: 'prompt tokens/s' }),
    '',
    `**Served / raw decode speed: ${comparison.decodeRatio.toFixed(2)}** (mean tokens/s); ` +
      `prompt speed ratio ${comparison.promptRatio.toFixed(2)}; the server adds ${f0(comparison.ttftOverheadMs)} ms to the time to first token (p50).`,
    '',
    '## Concurrency sweep (fixed-length prompt)',
    '',
    '| clients | requests | wall (s) | aggregate tokens/s | requests/s | TTFT p50 (ms) | e2e p50 (ms) | decode tokens/s p50 |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...report.concurrency.map(
      (c) =>
        `| ${c.clients} | ${c.requests} | ${c.wallSeconds.toFixed(2)} | ${f1(c.aggregateTokensPerSecond)} | ${c.requestsPerSecond.toFixed(2)} | ${f0(c.ttftMs.p50)} | ${f0(c.e2eMs.p50)} | ${f1(c.decodeTokensPerSecond.p50)} |`,
    ),
    '',
    'A server with one slot (llama_cpp.server) runs one generation at a time, so more clients queue:',
    'aggregate tokens/s stays near the single-client figure while time to first token grows with the queue.',
  ];
  if (report.cpp && report.backends) lines.push('', ...backendsTable(report.backends, report.cpp, report.batched));
  if (report.mixed?.length) lines.push('', ...mixedTable(report.mixed));
  if (report.reproducibleCost) lines.push('', ...reproducibleTable(report.reproducibleCost));
  if (report.wake) {
    const w = report.wake;
    lines.push(
      '',
      '## Idle sleep: what the request that wakes the server waits',
      '',
      `A server of the bench's own with server.idle_sleep: ${w.idleSleepSeconds}s slept ${w.asleepAfterSeconds.toFixed(1)} s after its last request (the model's memory given back);`,
      `the next request's first token came after ${f0(w.wakeTtftMs)} ms, against ${f0(w.awakeTtftMs)} ms when awake: the model loaded again, its cache empty.`,
    );
  }
  if (report.speculation) lines.push('', ...speculationTable(report.speculation));
  if (report.rpc) lines.push('', ...rpcTable(report.rpc));
  if (report.guide) {
    const g = report.guide;
    lines.push(
      '',
      '## Beside the guide\'s figures (ELYZA 7B q4_K_M, 16 GB laptop CPU)',
      '',
      '| figure | guide | here |',
      '|---|---:|---:|',
      `| decode tokens/s | ${g.decodeTokensPerSecond} | ${f1(raw.summary.decodeTokensPerSecond.mean)} (raw), ${f1(served.summary.decodeTokensPerSecond.mean)} (served) |`,
      ...g.promptTokensPerSecond.map((p) => `| prompt tokens/s (${p.tokens} tokens) | ${p.tokensPerSecond} | ${f1(served.summary.promptTokensPerSecond.p50)} (served p50) |`),
      `| verification program tokens/s (prompt time included) | ${g.verificationTokensPerSecond.join(', ')} | see decode tokens/s above: measured after the first token |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Every backend against llama.cpp's own limits in one table: llama-bench for one stream,
 * llama-batched-bench for the aggregate at each client count. The table the README quotes.
 */
function backendsTable(backends: BackendBench[], cpp: CppLimit, batched: BatchedLimit | undefined): string[] {
  const levels = backends[0]?.concurrency.map((c) => c.clients) ?? [];
  const most = levels[levels.length - 1];
  return [
    `## Backends against the C++ limit (llama-bench, ${cpp.threads} threads, after ${cpp.depthTokens} tokens of context: tg${cpp.genTokens} ${f1(cpp.tgTokensPerSecond)} tokens/s, pp${cpp.promptTokens} ${f1(cpp.ppTokensPerSecond)} tokens/s)`,
    '',
    `| backend | decode tokens/s (1 stream) | ÷ llama-bench tg | TTFT p50, 1 stream (ms) | aggregate tokens/s at ${levels.join(' / ')} clients | TTFT p50 at ${most} clients (ms) |`,
    '|---|---:|---:|---:|---:|---:|',
    ...backends.map((b) => {
      const last = b.concurrency[b.concurrency.length - 1];
      return `| ${b.label} | ${f1(b.summary.decodeTokensPerSecond.mean)} | ${b.decodeVsCpp === undefined ? 'n/a' : b.decodeVsCpp.toFixed(2)} | ${f0(b.summary.ttftMs.p50)} | ${b.concurrency.map((c) => f1(c.aggregateTokensPerSecond)).join(' / ')} | ${last ? f0(last.ttftMs.p50) : 'n/a'} |`;
    }),
    // The engine itself: no HTTP, no tokenizing of chat templates, prompts of ${cpp.promptTokens} tokens.
    `| llama.cpp itself (llama-bench${batched ? ' / llama-batched-bench, generated tokens over the whole run' : ''}) | ${f1(cpp.tgTokensPerSecond)} | 1.00 | n/a | ${
      batched ? levels.map((n) => batched.byParallel.find((b) => b.parallel === n)).map((b) => (b ? f1(b.completionTokensPerSecond) : 'n/a')).join(' / ') : 'n/a'
    } | n/a |`,
    '',
    `llama-bench by threads (what \`n_threads: auto\` rests on): ${cpp.byThreads.map((t) => `${t.threads}: pp${cpp.promptTokens} ${f1(t.pp)}, tg${cpp.genTokens} ${f1(t.tg)}`).join('; ')} tokens/s.`,
  ];
}

const gaps = (g: MixedLoadResult['interTokenMs']['alone']) => `${f1(g.p50)} / ${f1(g.p95)} / ${f1(g.p99)} / ${f1(g.max)}`;

/** Embeddings beside streams: what a RAG program sees while chats run on the same server. */
function mixedTable(mixed: MixedLoadResult[]): string[] {
  return [
    "## Embeddings beside streaming chats (the profile's server)",
    '',
    '| streams | embeddings | latency p50 / p95 / max (ms) | inter-token p50 / p95 / p99 / max alone (ms) | inter-token p50 / p95 / p99 / max beside embeddings (ms) | p95 beside ÷ alone |',
    '|---:|---:|---:|---:|---:|---:|',
    ...mixed.map((m) => `| ${m.streams} | ${m.embeddings.count} | ${f0(m.embeddings.p50Ms)} / ${f0(m.embeddings.p95Ms)} / ${f0(m.embeddings.maxMs)} | ${gaps(m.interTokenMs.alone)} | ${gaps(m.interTokenMs.withEmbeddings)} | ${(m.interTokenMs.withEmbeddings.p95 / m.interTokenMs.alone.p95).toFixed(2)} |`),
    '',
    'Embeddings are sent one at a time, half a second apart (a RAG loop), while the streams run. llama-server never puts embeddings and',
    'completions in one batch (ggml-org/llama.cpp#8420); our scheduler patch gives a waiting embedding every other batch.',
    'A request needs a free slot: with every slot streaming, an embedding waits for the first stream to end.',
  ];
}

/** server.speculative: every mode measured, and what they justify. */
/** distributed.rpc_workers: the served model over its workers against the same build alone. */
function rpcTable(r: RpcCost): string[] {
  return [
    '## Over RPC workers against one host: the network\'s cost',
    '',
    `The model spread over ${r.workers.join(', ')} (${r.spread}), one stream, against the same build serving it from this machine alone.`,
    '',
    '| served | decode tokens/s | TTFT p50 ms |',
    '|---|---:|---:|',
    `| over RPC | ${f1(r.overRpc.decodeTokensPerSecond.mean)} | ${f0(r.overRpc.ttftMs.p50)} |`,
    `| one host | ${f1(r.oneHost.decodeTokensPerSecond.mean)} | ${f0(r.oneHost.ttftMs.p50)} |`,
    '',
    `Decode over RPC: ${r.decodeRatio.toFixed(2)} of one host's.`,
  ];
}

function speculationTable(bench: SpeculationBench): string[] {
  const off = bench.runs.find((r) => r.mode === 'off');
  const ratio = (value: number, base: number | undefined) => (base ? ` (x${(value / base).toFixed(2)})` : '');
  return [
    `## Speculative decoding (server.speculative; the profile has ${bench.setting})`,
    '',
    `| mode | decode tokens/s, the guide's prompts | decode tokens/s, code rewrites | aggregate tokens/s, ${bench.runs[0]?.clients ?? '?'} clients |`,
    '|---|---:|---:|---:|',
    ...bench.runs.map((r) => `| ${r.mode} | ${f1(r.guideDecode)}${ratio(r.guideDecode, off?.guideDecode)} | ${f1(r.codeDecode)}${ratio(r.codeDecode, off?.codeDecode)} | ${f1(r.aggregate)}${ratio(r.aggregate, off?.aggregate)} |`),
    '',
    `The default these figures justify: **${bench.verdict}**. A mode earns it when it is faster than off on both prompt kinds with one stream and keeps the aggregate within 5% of off.`,
  ];
}

/** What server.reproducible costs: the same backend and prompts, one stream, the setting on and off. */
function reproducibleTable(cost: NonNullable<BenchReport['reproducibleCost']>): string[] {
  const row = (label: string, m: MetricSummaries) => `| ${label} | ${f0(m.ttftMs.p50)} / ${f0(m.ttftMs.p95)} | ${f1(m.promptTokensPerSecond.mean)} | ${f1(m.decodeTokensPerSecond.mean)} |`;
  const ttft = cost.on.ttftMs.p50 / cost.off.ttftMs.p50;
  const decode = cost.on.decodeTokensPerSecond.mean / cost.off.decodeTokensPerSecond.mean;
  return [
    `## Reproducible answers: what they cost (the profile has server.reproducible: ${cost.setting})`,
    '',
    '| server.reproducible | TTFT p50 / p95 (ms) | prompt tokens/s | decode tokens/s |',
    '|---|---:|---:|---:|',
    row('true: one attention path, no repacking', cost.on),
    row("false: llama.cpp's kernels by batch shape", cost.off),
    '',
    `Time to first token ${ttft.toFixed(2)}x, decode ${decode.toFixed(2)}x with reproducible answers. The cost grows with the context: a`,
    "single query's attention takes the tiled kernel (F32, one row) instead of the one-row F16 kernel or the split over threads.",
  ];
}

/** Bars of aggregate tokens/s by concurrency, with the raw engine's decode speed as a line. */
export function concurrencyChart(report: BenchReport): string {
  const width = 640;
  const height = 360;
  const margin = { top: 40, right: 20, bottom: 50, left: 60 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const rawDecode = report.raw.summary.decodeTokensPerSecond.mean;
  const values = report.concurrency.map((c) => c.aggregateTokensPerSecond);
  const others = (report.backends ?? []).slice(1);
  const cppTg = report.cpp?.tgTokensPerSecond;
  const top = Math.max(...values, ...others.flatMap((b) => b.concurrency.map((c) => c.aggregateTokensPerSecond)), Number.isFinite(rawDecode) ? rawDecode : 0, cppTg ?? 0, 1) * 1.15;
  const y = (v: number) => margin.top + plotH - (v / top) * plotH;
  const slot = plotW / Math.max(report.concurrency.length, 1);
  const bars = report.concurrency
    .map((c, i) => {
      const x = margin.left + i * slot + slot * 0.2;
      const w = slot * 0.6;
      const v = c.aggregateTokensPerSecond;
      return [
        `<rect class="bar" x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${w.toFixed(1)}" height="${(margin.top + plotH - y(v)).toFixed(1)}" fill="#4e79a7"><title>${c.clients} clients: ${v.toFixed(1)} tokens/s</title></rect>`,
        `<text x="${(x + w / 2).toFixed(1)}" y="${(y(v) - 6).toFixed(1)}" text-anchor="middle" font-size="12">${v.toFixed(1)}</text>`,
        `<text x="${(x + w / 2).toFixed(1)}" y="${(margin.top + plotH + 18).toFixed(1)}" text-anchor="middle" font-size="12">${c.clients}</text>`,
      ].join('\n  ');
    })
    .join('\n  ');
  const ticks = Array.from({ length: 5 }, (_, i) => (top / 4) * i)
    .map((v) => `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/><text x="${margin.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${v.toFixed(0)}</text>`)
    .join('\n  ');
  // The other backends as lines over the bars (same x positions), and the C++ limit.
  const curves = others
    .map((b) => {
      const points = b.concurrency.map((c, i) => `${(margin.left + i * slot + slot / 2).toFixed(1)},${y(c.aggregateTokensPerSecond).toFixed(1)}`).join(' ');
      const last = b.concurrency[b.concurrency.length - 1];
      return `<polyline class="curve" points="${points}" fill="none" stroke="#59a14f" stroke-width="3"/><text x="${width - margin.right}" y="${last ? (y(last.aggregateTokensPerSecond) - 8).toFixed(1) : 0}" text-anchor="end" font-size="12" fill="#59a14f">${escapeXml(b.label)}</text>`;
    })
    .join('\n  ');
  const cppLine =
    cppTg !== undefined
      ? `<line class="cpp" x1="${margin.left}" x2="${width - margin.right}" y1="${y(cppTg).toFixed(1)}" y2="${y(cppTg).toFixed(1)}" stroke="#333" stroke-dasharray="2 3"/><text x="${margin.left + 4}" y="${(y(cppTg) - 6).toFixed(1)}" font-size="12" fill="#333">llama-bench tg ${cppTg.toFixed(1)} tokens/s (C++ limit, 1 stream)</text>`
      : '';
  const rawLine = Number.isFinite(rawDecode)
    ? `<line class="raw" x1="${margin.left}" x2="${width - margin.right}" y1="${y(rawDecode).toFixed(1)}" y2="${y(rawDecode).toFixed(1)}" stroke="#e15759" stroke-dasharray="6 4"/><text x="${width - margin.right}" y="${(y(rawDecode) - 6).toFixed(1)}" text-anchor="end" font-size="12" fill="#e15759">raw engine decode ${rawDecode.toFixed(1)} tokens/s</text>`
    : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
  <rect width="100%" height="100%" fill="white"/>
  <text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(report.model.alias)}: aggregate tokens/s by concurrency${others.length ? ' (bars: llama_cpp.server)' : ''}</text>
  ${ticks}
  ${bars}
  ${curves}
  ${rawLine}
  ${cppLine}
  <text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle" font-size="12">concurrent clients</text>
  <text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">tokens/s</text>
</svg>
`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}
