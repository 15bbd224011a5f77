/**
 * Draft-free speculative decoding (server.speculative: llama-server's --spec-type) measured the
 * way make bench decides its default: the profile's backend with each mode on a server of the
 * bench's own, one stream on the guide's prompts and on a code rewrite (an answer that repeats its
 * prompt, where n-grams pay), then the aggregate with every client at once (slots busy beside each
 * other, where a rejected guess costs the others their batch).
 */
import OpenAI from 'openai';
import type { ServingBackend } from '../../scripts/lib/backend/index.ts';
import type { Plan, Speculation } from '../../scripts/lib/plan/index.ts';
import { withTemporaryServer } from './backends.ts';
import { countTokens, measureChat, type Message } from './measure.ts';

/** A function to give back with type hints: most of the answer is in the prompt already. */
export const CODE_REWRITE: Message[] = [
  {
    role: 'user',
    content: `Add type hints to this Python function. Change nothing else and answer with the whole function only.

\`\`\`python
def moving_average(values, window):
    if window <= 0:
        raise ValueError("window must be positive")
    averages = []
    total = 0
    for index, value in enumerate(values):
        total += value
        if index >= window:
            total -= values[index - window]
        if index >= window - 1:
            averages.append(total / window)
    return averages
\`\`\``,
  },
];

export interface SpeculationRun {
  mode: Speculation;
  /** Decode tokens/s, one stream, mean over the runs. */
  guideDecode: number;
  codeDecode: number;
  /** Generated tokens/s with `clients` requests at once. */
  aggregate: number;
  clients: number;
}

export interface SpeculationBench {
  /** What the profile has. */
  setting: Speculation;
  runs: SpeculationRun[];
  /** The mode these figures justify as the default, and why in one line. */
  best: Speculation;
  verdict: string;
}

/** The aggregate may drop this much against off before a mode is turned down for it. */
const AGGREGATE_TOLERANCE = 0.05;

/**
 * A mode earns the default when it is faster than off on both prompt kinds with one stream and
 * keeps the aggregate at the most clients within 5% of off; of those, the one with the highest
 * geometric mean of its two one-stream gains. Otherwise off stays.
 */
export function speculationVerdict(runs: SpeculationRun[]): { best: Speculation; verdict: string } {
  const off = runs.find((r) => r.mode === 'off');
  if (!off) return { best: 'off', verdict: 'off was not measured: no default can be justified' };
  const gain = (r: SpeculationRun) => Math.sqrt((r.guideDecode / off.guideDecode) * (r.codeDecode / off.codeDecode));
  const why = (r: SpeculationRun) => `${r.mode}: guide x${(r.guideDecode / off.guideDecode).toFixed(2)}, code x${(r.codeDecode / off.codeDecode).toFixed(2)}, ${r.clients} clients x${(r.aggregate / off.aggregate).toFixed(2)}`;
  const earning = runs.filter((r) => r.mode !== 'off' && r.guideDecode > off.guideDecode && r.codeDecode > off.codeDecode && r.aggregate >= off.aggregate * (1 - AGGREGATE_TOLERANCE));
  if (!earning.length) return { best: 'off', verdict: `off: no mode is faster on both prompt kinds without costing ${off.clients} clients more than 5% (${runs.filter((r) => r.mode !== 'off').map(why).join('; ')})` };
  const best = earning.reduce((a, b) => (gain(b) > gain(a) ? b : a));
  return { best: best.mode, verdict: `${best.mode} (${why(best)})` };
}

export async function speculationBench(
  plan: Plan,
  backend: ServingBackend,
  options: { modes: Speculation[]; runs: number; maxTokens: number; clients: number; guidePrompts: Message[][] },
  log: (line: string) => void,
): Promise<SpeculationBench> {
  const runs: SpeculationRun[] = [];
  for (const mode of options.modes) {
    const variant: Plan = { ...plan, server: { ...plan.server, speculative: mode } };
    runs.push(
      await withTemporaryServer(variant, backend, async (baseUrl) => {
        const client = new OpenAI({ baseURL: baseUrl, apiKey: 'none', timeout: 300_000, maxRetries: 0 });
        const count = (text: string) => countTokens(baseUrl, undefined, text, backend.tokenize);
        const decode = async (prompts: Message[][]) => {
          const speeds: number[] = [];
          // A warm-up each: the first request of a server pays for its graphs.
          for (const prompt of prompts) await measureChat(client, prompt, 4, { prompt: 0, count });
          for (let run = 0; run < options.runs; run++) for (const prompt of prompts) speeds.push((await measureChat(client, prompt, options.maxTokens, { prompt: 0, count })).decodeTokensPerSecond);
          const finite = speeds.filter(Number.isFinite);
          return finite.reduce((a, b) => a + b, 0) / Math.max(1, finite.length);
        };
        const guideDecode = await decode(options.guidePrompts);
        const codeDecode = await decode([CODE_REWRITE]);
        const started = performance.now();
        const all = await Promise.all(Array.from({ length: options.clients }, () => measureChat(client, CODE_REWRITE, options.maxTokens, { prompt: 0, count })));
        const aggregate = all.reduce((sum, r) => sum + r.completionTokens, 0) / ((performance.now() - started) / 1000);
        log(`  server.speculative: ${mode}: decode ${guideDecode.toFixed(1)} tokens/s on the guide's prompts, ${codeDecode.toFixed(1)} on a code rewrite; ${options.clients} clients ${aggregate.toFixed(1)} tokens/s aggregate`);
        return { mode, guideDecode, codeDecode, aggregate, clients: options.clients };
      }),
    );
  }
  return { setting: plan.server.speculative, runs, ...speculationVerdict(runs) };
}
