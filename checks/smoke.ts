/**
 * What proves the stack works: every OpenAI endpoint the guide uses, called with the official
 * `openai` client the way the guide calls them (model names text-davinci-003, gpt-3.5-turbo,
 * text-embedding-ada-002 fall back to the served model), plus JupyterLab's token gate.
 */
import OpenAI from 'openai';
import { existsSync } from 'node:fs';
import { readGgufInfo } from '../scripts/lib/model/gguf.ts';
import { jupyterToken } from '../scripts/lib/jupyter/jupyter.ts';
import { serverApiKey } from '../scripts/lib/state/secrets.ts';
import { GUIDE_PROMPT, GUIDE_SAMPLING, guideChatRequest, guideChatStreamRequest } from '../scripts/lib/guide.ts';
import { backendFor } from '../scripts/lib/backend/index.ts';
import { chatPageBrowserCheck } from './chat-page.ts';
import { conformanceChecks, refused } from './conformance.ts';
import { notebookCheck } from './notebook.ts';
import { pythonSdkStreamToolsCheck } from './python-sdk.ts';
import { expect, knob, smokeTimeoutSeconds, type Check } from './report.ts';
import type { Plan, PlanModel } from '../scripts/lib/plan/index.ts';

/**
 * Enough tokens to see an answer; a quick verification (a warm re-provision) asks for fewer.
 * SMOKE_MAX_TOKENS asks for fewer everywhere, the guide's notebook included: on a slow device
 * (Mesa's lavapipe decodes under 1 token/s) the checks then prove the same endpoints in minutes less.
 */
export function answerTokens(env: Record<string, string | undefined> = process.env): { full: number; quick: number } {
  const full = knob('SMOKE_MAX_TOKENS', 48, env);
  return { full, quick: Math.min(full, 12) };
}

export function clientFor(plan: Plan): OpenAI {
  return new OpenAI({ baseURL: plan.server.baseUrl, apiKey: serverApiKey(plan) ?? 'Dummy', timeout: smokeTimeoutSeconds() * 1000, maxRetries: 0 });
}

export function smokeChecks(plan: Plan, options: { notebook: boolean; conformance: boolean } = { notebook: true, conformance: true }): Check[] {
  const tokens = answerTokens();
  const ctx: SmokeContext = { plan, options, client: clientFor(plan), maxTokens: options.notebook ? tokens.full : tokens.quick };
  return SMOKE_CHECKS.filter((row) => row.when?.(ctx) ?? true).flatMap((row) => row.make(ctx));
}

interface SmokeContext {
  plan: Plan;
  options: { notebook: boolean; conformance: boolean };
  client: OpenAI;
  maxTokens: number;
}

/** The smoke checks in the order they run, each with when it applies (always, when none is said). */
const SMOKE_CHECKS: { when?: (ctx: SmokeContext) => boolean; make: (ctx: SmokeContext) => Check | Check[] }[] = [
  { make: ({ client, plan }) => modelsCheck(client, plan) },
  { make: ({ client, maxTokens }) => completionsCheck(client, maxTokens) },
  { make: ({ client, maxTokens }) => chatCheck(client, maxTokens) },
  { make: ({ client, plan }) => embeddingsCheck(client, plan) },
  { make: ({ client, maxTokens }) => streamingCheck(client, maxTokens) },
  { make: ({ client, plan }) => errorsCheck(client, plan.model) },
  // A quick verification (an unchanged re-provision) asks one reproducibility triple, a full run SMOKE_REPRODUCIBLE_TRIPLES.
  { when: ({ options }) => options.conformance, make: ({ plan, client, options }) => conformanceChecks(plan, client, backendFor(plan), options.notebook ? knob('SMOKE_REPRODUCIBLE_TRIPLES', 3) : 1) },
  // Several models: each called by its name, on every endpoint, one model after the other
  // (llama_cpp.server swaps the loaded model when a request names another).
  { when: ({ plan }) => plan.models.length > 1, make: ({ plan, client, maxTokens }) => plan.models.map((model) => modelCheck(client, model, maxTokens)) },
  // The chat page in a real browser: with the notebook (a full run: a first provision, make
  // smoke-test), not in the quick verification of an unchanged one; SMOKE_BROWSER=0 leaves it out.
  { when: ({ plan, options }) => plan.server.webUi && options.notebook && options.conformance && process.env.SMOKE_BROWSER !== '0', make: ({ plan }) => chatPageBrowserCheck(plan, { timeoutMs: smokeTimeoutSeconds() * 1000 }) },
  { when: ({ plan }) => plan.jupyter.enabled, make: ({ plan }) => jupyterCheck(plan) },
  { when: ({ plan, options }) => plan.jupyter.enabled && options.notebook, make: ({ plan }) => notebookCheck(plan) },
  // The guide's client is the Python SDK: its stream helper, with the env's own interpreter.
  { when: ({ plan, options }) => options.conformance && !backendFor(plan).toolRoute(plan.model).unsupported, make: ({ plan }) => pythonSdkStreamToolsCheck(plan) },
];

/** /v1/models lists every alias the profile serves. */
function modelsCheck(client: OpenAI, plan: Plan): Check {
  return {
    name: 'models',
    async run() {
      const models = await client.models.list();
      const ids = models.data.map((m) => m.id);
      const aliases = plan.models.map((m) => m.alias);
      const missing = aliases.filter((alias) => !ids.includes(alias));
      expect(missing.length === 0, `/v1/models lists ${JSON.stringify(ids)}, not ${missing.map((a) => `"${a}"`).join(', ')}`);
      return `${aliases.map((a) => `"${a}"`).join(', ')} listed`;
    },
  };
}

/** The guide's completion: text, a finish reason, usage that adds up. */
function completionsCheck(client: OpenAI, maxTokens: number): Check {
  return {
    name: 'completions',
    async run() {
      const response = await client.completions.create({ model: 'text-davinci-003', prompt: GUIDE_PROMPT, max_tokens: maxTokens, ...GUIDE_SAMPLING });
      const choice = response.choices[0];
      expect(choice, 'the response has no choices');
      expect(choice.text.trim().length > 0, 'the completion text is empty');
      expect(choice.finish_reason === 'stop' || choice.finish_reason === 'length', `finish_reason is ${JSON.stringify(choice.finish_reason)}`);
      const usage = response.usage;
      expect(usage, 'the response has no usage counts');
      expect(usage.completion_tokens > 0 && usage.prompt_tokens > 0, `usage counts are not positive: ${JSON.stringify(usage)}`);
      expect(usage.prompt_tokens + usage.completion_tokens === usage.total_tokens, `usage does not add up: ${JSON.stringify(usage)}`);
      return `${usage.completion_tokens} tokens, finish_reason ${choice.finish_reason}`;
    },
  };
}

/** The guide's chat: an assistant message with text. */
function chatCheck(client: OpenAI, maxTokens: number): Check {
  return {
    name: 'chat',
    async run() {
      const response = await client.chat.completions.create(guideChatRequest(maxTokens));
      const message = response.choices[0]?.message;
      expect(message?.role === 'assistant', `the reply's role is ${JSON.stringify(message?.role)}, not "assistant"`);
      expect((message.content ?? '').trim().length > 0, 'the assistant message is empty');
      return `${response.usage?.completion_tokens ?? '?'} tokens from the assistant`;
    },
  };
}

/** Embeddings of two texts (one Japanese): flat vectors of the model's length, distinct. */
function embeddingsCheck(client: OpenAI, plan: Plan): Check {
  return {
    name: 'embeddings',
    async run() {
      const inputs = [GUIDE_PROMPT, '富士山の標高は？'];
      let response;
      try {
        // The client asks for base64 unless told otherwise; llama_cpp.server answers floats.
        response = await client.embeddings.create({ model: 'text-embedding-ada-002', input: inputs, encoding_format: 'float' });
      } catch (error) {
        const message = (error as { message?: string }).message ?? String(error);
        if (/embedding=True/.test(message)) {
          throw new Error(`the server was started without embeddings (${message.trim()}); start it with --embedding true`);
        }
        throw error;
      }
      return describeEmbeddings(await checkEmbeddings(response, inputs, plan.model));
    },
  };
}

/** The guide's chat streamed: several deltas, the first before the end, a finish reason. */
function streamingCheck(client: OpenAI, maxTokens: number): Check {
  return {
    name: 'streaming',
    async run() {
      const started = performance.now();
      const stream = await client.chat.completions.create(guideChatStreamRequest(maxTokens));
      let deltas = 0;
      let text = '';
      let firstDeltaAt: number | undefined;
      let finishReason: string | null | undefined;
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        const content = choice?.delta?.content;
        if (content) {
          deltas += 1;
          text += content;
          firstDeltaAt ??= performance.now();
        }
        if (choice?.finish_reason) finishReason = choice.finish_reason;
      }
      const endedAt = performance.now();
      expect(deltas >= 2, `the stream carried ${deltas} content deltas, expected at least 2`);
      expect(text.trim().length > 0, 'the streamed text is empty');
      expect(firstDeltaAt !== undefined && firstDeltaAt < endedAt, 'the first delta did not arrive before the stream ended');
      expect(finishReason === 'stop' || finishReason === 'length', `the stream ended without a finish_reason (${JSON.stringify(finishReason)})`);
      return `${deltas} deltas, first after ${Math.round(firstDeltaAt! - started)} ms of ${Math.round(endedAt - started)} ms, finish_reason ${finishReason}`;
    },
  };
}

/**
 * What a client sends wrong gets a 4xx with an OpenAI-shaped error, never a 500 a client would
 * retry: a message the API does not have (a role "nobody", a number for content), and a prompt
 * longer than the context, which must be refused with the limit said, never silently cut.
 */
function errorsCheck(client: OpenAI, model: PlanModel): Check {
  return {
    name: 'errors',
    async run() {
      const malformed = await refused(() => client.chat.completions.create({ model: model.alias, max_tokens: 4, messages: [{ role: 'nobody', content: 5 }] as unknown as OpenAI.ChatCompletionMessageParam[] }));
      expect(malformed.status >= 400 && malformed.status < 500, `a malformed message got HTTP ${malformed.status} (${malformed.message}), not a 4xx`);
      expect(malformed.message.trim().length > 0, 'the 4xx for a malformed message carries no error message');
      // Words enough to pass the context whatever the tokenizer: a tokenizer makes at least one token of each.
      const tooLong = await refused(() => client.completions.create({ model: model.alias, max_tokens: 4, prompt: 'word '.repeat(model.nCtx + 64) }));
      expect(tooLong.status >= 400 && tooLong.status < 500, `a prompt longer than the context got HTTP ${tooLong.status} (${tooLong.message}), not a 4xx`);
      expect(new RegExp(`\\b${model.nCtx}\\b`).test(tooLong.message), `the refusal of a prompt longer than the context does not say the limit (${model.nCtx}): ${tooLong.message}`);
      return `malformed message: HTTP ${malformed.status}; prompt over ${model.nCtx} tokens: HTTP ${tooLong.status}`;
    },
  };
}

async function expectedEmbeddingSize(model: PlanModel): Promise<number | undefined> {
  if (!existsSync(model.path)) return undefined;
  return (await readGgufInfo(model.path).catch(() => undefined))?.embeddingLength;
}

/** Validates an embeddings response: one flat, finite, non-zero vector per input, of the model's length, distinct. */
async function checkEmbeddings(response: OpenAI.CreateEmbeddingResponse, inputs: string[], model: PlanModel): Promise<{ count: number; length: number; sized: boolean }> {
  expect(response.data.length === inputs.length, `${inputs.length} inputs gave ${response.data.length} embeddings`);
  const vectors = response.data.map((d) => d.embedding as unknown);
  for (const [i, vector] of vectors.entries()) {
    expect(Array.isArray(vector), `embedding ${i} is not a list`);
    expect(
      vector.every((x) => typeof x === 'number'),
      `embedding ${i} is a list of ${vector.length} lists (one vector per token), not one flat vector: the server's pooling is NONE; start it through serve.py with --pooling mean`,
    );
    expect(vector.every((x) => Number.isFinite(x)), `embedding ${i} holds values that are not finite`);
    expect(vector.some((x) => x !== 0), `embedding ${i} is all zeros`);
  }
  const [a, b] = vectors as number[][];
  const size = await expectedEmbeddingSize(model);
  expect(a!.length === b!.length, `the two embeddings differ in length (${a!.length} and ${b!.length})`);
  if (size !== undefined) expect(a!.length === size, `embeddings have ${a!.length} dimensions, the model's embedding length is ${size}`);
  expect(a!.some((x, i) => x !== b![i]), 'different inputs gave the same embedding');
  return { count: vectors.length, length: a!.length, sized: size !== undefined };
}

function describeEmbeddings(e: { count: number; length: number; sized: boolean }): string {
  return `${e.count} flat vectors of ${e.length} floats${e.sized ? " (the model's embedding length)" : ''}, distinct`;
}

/** One model by its alias: completion, chat, a stream and embeddings, each answered by that model. */
function modelCheck(client: OpenAI, model: PlanModel, maxTokens: number): Check {
  return {
    name: `model ${model.alias}`,
    async run() {
      const answeredBy = (what: string, name: string | undefined) =>
        expect(name === undefined || name === model.alias || name.endsWith(model.fileName), `the ${what} asked of "${model.alias}" was answered by "${name}"`);
      const completion = await client.completions.create({ model: model.alias, prompt: GUIDE_PROMPT, max_tokens: maxTokens, ...GUIDE_SAMPLING });
      expect((completion.choices[0]?.text ?? '').trim().length > 0, `the completion from "${model.alias}" is empty`);
      answeredBy('completion', completion.model);
      const chat = await client.chat.completions.create({ ...guideChatRequest(maxTokens), model: model.alias });
      expect((chat.choices[0]?.message?.content ?? '').trim().length > 0, `the chat answer from "${model.alias}" is empty`);
      answeredBy('chat', chat.model);
      let deltas = 0;
      for await (const chunk of await client.chat.completions.create({ ...guideChatStreamRequest(maxTokens), model: model.alias })) {
        if (chunk.choices[0]?.delta?.content) deltas += 1;
      }
      expect(deltas >= 2, `the stream from "${model.alias}" carried ${deltas} content deltas, expected at least 2`);
      const inputs = [GUIDE_PROMPT, '富士山の標高は？'];
      const embeddings = await checkEmbeddings(await client.embeddings.create({ model: model.alias, input: inputs, encoding_format: 'float' }), inputs, model);
      return `completion, chat, ${deltas} streamed deltas, ${describeEmbeddings(embeddings)}`;
    },
  };
}

function jupyterCheck(plan: Plan): Check {
  return {
    name: 'jupyterlab',
    async run() {
      const status = `${plan.jupyter.url.replace(/\/lab$/, '')}/api/status`;
      const token = jupyterToken(plan);
      const withToken = await fetch(status, { headers: { Authorization: `token ${token}` } });
      expect(withToken.status === 200, `/api/status with the token answered HTTP ${withToken.status}`);
      const body = (await withToken.json()) as { started?: string };
      expect(typeof body.started === 'string', '/api/status did not say when it started');
      const without = await fetch(status);
      expect(without.status === 403 || without.status === 401, `/api/status without a token answered HTTP ${without.status}: JupyterLab is open to anyone`);
      return `/api/status 200 with the token, ${without.status} without`;
    },
  };
}
