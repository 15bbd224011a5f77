/**
 * Embeddings beside streams: a RAG program embeds while chats stream. Measures the embeddings'
 * latency while `streams` completions run, and the streams' inter-token latency alone and while
 * embeddings are sent (one at a time, `gapMs` apart). llama-server never mixes embedding and
 * completion work in one batch (ggml-org/llama.cpp#8420): without our scheduler patch
 * (source-patches.ts, fair-batch-*) an embedding waits for every stream to end.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './stats.ts';

export interface MixedLoadOptions {
  baseUrl: string;
  apiKey?: string;
  /** Concurrent streams while embeddings are sent. */
  streams: number;
  /** Embedding requests, sent one after the other. */
  embeddings: number;
  /** Pause between one embedding's answer and the next request. */
  gapMs: number;
  /** Tokens each stream generates (its end token banned, so it runs the whole length). */
  streamTokens: number;
  /** Give up on one request after this long (the message says which). */
  timeoutMs: number;
}

/** Inter-token gaps: p95 says the pace kept; p99 and max show what each embedding cost the stream it interrupted. */
export interface Gaps {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function gapStats(values: number[]): Gaps {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}

export interface MixedLoadResult {
  streams: number;
  embeddings: { count: number; p50Ms: number; p95Ms: number; maxMs: number };
  /** Inter-token latency of one stream alone, and of the streams while embeddings were sent. */
  interTokenMs: { alone: Gaps; withEmbeddings: Gaps };
}

const PROMPT = 'Count from one to ten thousand in words:';

function headers(apiKey: string | undefined): Record<string, string> {
  return { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
}

/** One streamed completion; resolves with the arrival time of each token chunk, when it ends or `stop` aborts it. */
async function stream(options: MixedLoadOptions, tokens: number, started?: () => void, stop?: AbortSignal): Promise<number[]> {
  const timeout = AbortSignal.timeout(options.timeoutMs + tokens * 1000);
  const response = await fetch(`${options.baseUrl}/completions`, {
    method: 'POST',
    headers: headers(options.apiKey),
    // ignore_eos: the stream runs its whole length whatever the model would end on.
    body: JSON.stringify({ prompt: PROMPT, max_tokens: tokens, stream: true, temperature: 0.8, ignore_eos: true }),
    signal: stop ? AbortSignal.any([timeout, stop]) : timeout,
  });
  if (!response.ok || !response.body) throw new Error(`POST /v1/completions (stream) answered HTTP ${response.status}`);
  const arrivals: number[] = [];
  const decoder = new TextDecoder();
  try {
    for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
      const now = performance.now();
      for (const _ of decoder.decode(part, { stream: true }).matchAll(/^data: \{/gm)) arrivals.push(now);
      if (arrivals.length > 0) started?.();
    }
  } catch (error) {
    // Stopped on purpose once the embeddings were done: what arrived is the measure.
    if (!stop?.aborted) throw error;
  }
  return arrivals;
}

function gaps(arrivals: number[]): number[] {
  // The first gap is the time to the second token; every later one is decode pace.
  return arrivals.slice(2).map((at, i) => at - arrivals[i + 1]!);
}

async function embed(options: MixedLoadOptions, i: number): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${options.baseUrl}/embeddings`, {
    method: 'POST',
    headers: headers(options.apiKey),
    body: JSON.stringify({ model: 'text-embedding-ada-002', input: `富士山の標高は？ (${i})`, encoding_format: 'float' }),
    signal: AbortSignal.timeout(options.timeoutMs),
  }).catch((error: Error) => {
    throw new Error(`POST /v1/embeddings got no answer within ${options.timeoutMs / 1000} s while ${options.streams} stream(s) ran (${error.message})`);
  });
  if (!response.ok) throw new Error(`POST /v1/embeddings answered HTTP ${response.status}`);
  await response.json();
  return performance.now() - started;
}

export async function mixedLoad(options: MixedLoadOptions): Promise<MixedLoadResult> {
  // The pace alone, over enough tokens that its p95 is not one scheduler hiccup.
  const alone = gaps(await stream(options, Math.min(options.streamTokens, 400)));
  let running = 0;
  let allStarted: () => void = () => {};
  const ready = new Promise<void>((resolve) => (allStarted = resolve));
  const stop = new AbortController();
  const streams = Array.from({ length: options.streams }, () => {
    let counted = false;
    return stream(
      options,
      options.streamTokens,
      () => {
        if (counted) return;
        counted = true;
        running += 1;
        if (running === options.streams) allStarted();
      },
      stop.signal,
    );
  });
  await Promise.race([ready, Promise.all(streams)]);
  const window = { from: performance.now(), to: 0 };
  const latencies: number[] = [];
  for (let i = 0; i < options.embeddings; i++) {
    latencies.push(await embed(options, i));
    await sleep(options.gapMs);
  }
  window.to = performance.now();
  stop.abort();
  const arrivals = await Promise.all(streams);
  // Only the tokens that arrived while embeddings were sent: the pace they had to keep.
  const during = arrivals.flatMap((a) => gaps(a).filter((_, i) => a[i + 2]! >= window.from && a[i + 2]! <= window.to));
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    streams: options.streams,
    embeddings: { count: latencies.length, p50Ms: percentile(sorted, 50), p95Ms: percentile(sorted, 95), maxMs: sorted.at(-1) ?? 0 },
    interTokenMs: { alone: gapStats(alone), withEmbeddings: gapStats(during) },
  };
}
