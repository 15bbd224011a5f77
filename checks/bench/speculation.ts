/**
 * Draft-free speculative decoding (server.speculative: llama-server's --spec-type) measured the
 * way make bench decides its default: the profile's backend with each mode on a server of the
 * bench's own, one stream on the guide's prompts and on code rewrites (answers that repeat their
 * prompt, where n-grams pay), each asked once, then the aggregate with every client at once (slots
 * busy beside each other, where a rejected guess costs the others their batch).
 */
import OpenAI from 'openai';
import type { ServingBackend } from '../../scripts/lib/backend/index.ts';
import type { Plan, Speculation } from '../../scripts/lib/plan/index.ts';
import { withTemporaryServer } from './backends.ts';
import { countTokens, measureChat, type Message } from './measure.ts';

const rewrite = (code: string): Message[] => [{ role: 'user', content: `Add type hints to this Python function. Change nothing else and answer with the whole function only.\n\n\`\`\`python\n${code}\n\`\`\`` }];

/** Functions to give back with type hints: most of each answer is in its prompt already. */
export const CODE_REWRITES: Message[][] = [
  rewrite(`def moving_average(values, window):
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
    return averages`),
  rewrite(`def group_by_initial(words):
    groups = {}
    for word in words:
        if not word:
            continue
        initial = word[0].lower()
        if initial not in groups:
            groups[initial] = []
        groups[initial].append(word)
    return groups`),
  rewrite(`def parse_settings(lines):
    settings = {}
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ValueError("line %d has no '='" % number)
        key, value = line.split("=", 1)
        settings[key.strip()] = value.strip()
    return settings`),
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
  options: { modes: Speculation[]; maxTokens: number; clients: number; guidePrompts: Message[][] },
  log: (line: string) => void,
): Promise<SpeculationBench> {
  const runs: SpeculationRun[] = [];
  const prompts = [...options.guidePrompts, ...CODE_REWRITES];
  for (const mode of options.modes) {
    const variant: Plan = { ...plan, server: { ...plan.server, speculative: mode } };
    // Each prompt once on a server that has not seen it: a mode that keeps n-grams across requests
    // (ngram-mod, ngram-cache) would guess a repeated question's answer from the last one.
    const onFreshServer = <T>(fn: (client: OpenAI, count: (text: string) => Promise<number>) => Promise<T>) =>
      withTemporaryServer(variant, backend, async (baseUrl) => {
        const client = new OpenAI({ baseURL: baseUrl, apiKey: 'none', timeout: 300_000, maxRetries: 0 });
        const count = (text: string) => countTokens(baseUrl, undefined, text, backend.tokenize);
        await measureChat(client, [{ role: 'user', content: 'Say hello.' }], 4, { prompt: 0, count });
        return fn(client, count);
      });
    const [guideDecode, codeDecode] = await onFreshServer(async (client, count) => {
      const mean = async (kind: Message[][]) => {
        const speeds: number[] = [];
        for (const prompt of kind) speeds.push((await measureChat(client, prompt, options.maxTokens, { prompt: 0, count })).decodeTokensPerSecond);
        const finite = speeds.filter(Number.isFinite);
        return finite.reduce((a, b) => a + b, 0) / Math.max(1, finite.length);
      };
      return [await mean(options.guidePrompts), await mean(CODE_REWRITES)] as const;
    });
    // Every client at once, on another fresh server, each with a question of its own.
    const aggregate = await onFreshServer(async (client, count) => {
      const started = performance.now();
      const all = await Promise.all(Array.from({ length: options.clients }, (_, i) => measureChat(client, prompts[i % prompts.length]!, options.maxTokens, { prompt: 0, count })));
      return all.reduce((sum, r) => sum + r.completionTokens, 0) / ((performance.now() - started) / 1000);
    });
    log(`  server.speculative: ${mode}: decode ${guideDecode.toFixed(1)} tokens/s on the guide's prompts, ${codeDecode.toFixed(1)} on code rewrites; ${options.clients} clients ${aggregate.toFixed(1)} tokens/s aggregate`);
    runs.push({ mode, guideDecode, codeDecode, aggregate, clients: options.clients });
  }
  return { setting: plan.server.speculative, runs, ...speculationVerdict(runs) };
}
