/**
 * Measuring the served endpoint the way serving benchmarks do (docs/decisions.md#what-users-of-the-peers-report): per request,
 * time to first token, decode tokens/s after the first token, prompt tokens/s, end-to-end
 * latency and inter-token latency, with the official `openai` client and streaming chat.
 */
import type OpenAI from 'openai';
import { guideChatRequest, guideChatStreamRequest } from '../../scripts/lib/guide.ts';
import { originOf } from '../../scripts/lib/origin.ts';

export interface Message {
  role: 'system' | 'user';
  content: string;
}

export interface RunMeasure {
  prompt: string;
  promptTokens: number;
  completionTokens: number;
  /** `length`: the cap was reached, so completionTokens is exact; otherwise it is re-counted. */
  finishReason: string;
  chunks: number;
  ttftMs: number;
  e2eMs: number;
  /** Completion tokens after the first, over the time after the first token. */
  decodeTokensPerSecond: number;
  /** Prompt tokens over the time to first token (which also holds the HTTP round trip). */
  promptTokensPerSecond: number;
  /** Mean gap between streamed chunks. */
  itlMs: number;
}

/** Tokens in `text` by the server's own tokenizer (BOS not counted). */
export async function countTokens(baseUrl: string, apiKey: string | undefined, text: string, tokenize: { path: string; field: string }): Promise<number> {
  // Each backend says where it tokenizes (llama_cpp.server: /extras/tokenize {input}; llama-server: /tokenize {content}).
  const { path, field } = tokenize;
  const count = async (input: string) => {
    const response = await fetch(`${originOf(baseUrl)}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify({ [field]: input }),
    });
    if (!response.ok) throw new Error(`${path} answered HTTP ${response.status}`);
    return ((await response.json()) as { tokens: number[] }).tokens.length;
  };
  return text ? (await count(text)) - (await count('')) : 0;
}

/** Prompt tokens of a chat request, as the server counts them (a one-token request). */
export async function promptTokens(client: OpenAI, messages: Message[]): Promise<number> {
  const response = await client.chat.completions.create(guideChatRequest(1, messages));
  return response.usage?.prompt_tokens ?? NaN;
}

export async function measureChat(
  client: OpenAI,
  messages: Message[],
  maxTokens: number,
  tokens: { prompt: number; count: (text: string) => Promise<number> },
): Promise<RunMeasure> {
  const started = performance.now();
  const stream = await client.chat.completions.create(guideChatStreamRequest(maxTokens, messages));
  const stamps: number[] = [];
  let text = '';
  let finishReason = 'unknown';
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (choice?.finish_reason) finishReason = choice.finish_reason;
    const content = choice?.delta?.content;
    if (content) {
      stamps.push(performance.now());
      text += content;
    }
  }
  const ended = performance.now();
  // Streaming answers carry no usage. A run cut at max_tokens generated exactly that many;
  // otherwise re-tokenizing the text is the closest count (it can differ by a token or two).
  const completionTokens = finishReason === 'length' ? maxTokens : Math.min(await tokens.count(text), maxTokens);
  const first = stamps[0] ?? ended;
  const gaps = stamps.slice(1).map((t, i) => t - (stamps[i] as number));
  const ttftMs = first - started;
  return {
    prompt: messages[messages.length - 1]?.content ?? '',
    promptTokens: tokens.prompt,
    completionTokens,
    finishReason,
    chunks: stamps.length,
    ttftMs,
    e2eMs: ended - started,
    decodeTokensPerSecond: completionTokens > 1 && ended > first ? (completionTokens - 1) / ((ended - first) / 1000) : NaN,
    promptTokensPerSecond: tokens.prompt / (ttftMs / 1000),
    itlMs: gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : NaN,
  };
}
