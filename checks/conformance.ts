/**
 * What programs call today beyond the guide's endpoints, per model: tools (required, named, the
 * result sent back), tools streamed, structured output (json_object and a strict json_schema),
 * and where the backend has them, OpenAI's /v1/responses and Anthropic's /v1/messages. Each
 * check fails with what the server answered, so a user can run it against their own endpoint.
 */
import OpenAI from 'openai';
import { LengthFinishReasonError } from 'openai/error';
import type { ApiSurface, ToolRoute } from '../scripts/lib/backend/types.ts';
import { serverApiKey } from '../scripts/lib/state/secrets.ts';
import { badRequestsCheck } from './bad-requests.ts';
import { CheckFailure, expect, skip, type Check } from './report.ts';
import { japaneseStreamCheck, reproducibleCheck } from './reproducible.ts';
import type { Plan, PlanModel } from '../scripts/lib/plan/index.ts';
import { originOf } from '../scripts/lib/origin.ts';

/** Enough for a call's JSON on a small model; a model that rambles is cut, and the check says so. */
const MAX_TOKENS = 96;

export const WEATHER_TOOLS: OpenAI.ChatCompletionFunctionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'The current weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 40 } }, required: ['city'], additionalProperties: false },
    },
  },
  {
    type: 'function',
    function: {
      name: 'get_time',
      description: 'The current local time in a city',
      parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 40 } }, required: ['city'], additionalProperties: false },
    },
  },
];

const QUESTION: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Tokyo right now?' }];

/** A strict schema a small model can fill without rambling: bounded strings, a number, a boolean. */
export const PLACE_SCHEMA = {
  type: 'object',
  properties: {
    city: { type: 'string', maxLength: 40 },
    country: { type: 'string', maxLength: 40 },
    population_millions: { type: 'integer' },
    is_capital: { type: 'boolean' },
  },
  required: ['city', 'country', 'population_millions', 'is_capital'],
  additionalProperties: false,
} as const;

/** What a call must be: a function of the request's tools, arguments a JSON object with its required fields. */
function checkToolCall(call: OpenAI.ChatCompletionMessageToolCall | { function: { name?: string; arguments: string } } | undefined, allowed: readonly string[], what: string): { name: string; args: Record<string, unknown> } {
  const fn = call && 'function' in call ? call.function : undefined;
  const name = fn?.name;
  expect(name && allowed.includes(name), `${what}: the call names ${JSON.stringify(name)}, not one of ${allowed.join(', ')}`);
  let args: unknown;
  try {
    args = JSON.parse(fn!.arguments ?? '');
  } catch {
    throw new CheckFailure(`${what}: the arguments of ${name} are not JSON: ${JSON.stringify(fn!.arguments)}`);
  }
  expect(args !== null && typeof args === 'object' && !Array.isArray(args), `${what}: the arguments of ${name} are not a JSON object: ${fn!.arguments}`);
  const tool = WEATHER_TOOLS.find((t) => t.function.name === name)!;
  const required = (tool.function.parameters as { required: string[] }).required;
  const missing = required.filter((key) => !(key in (args as object)));
  expect(missing.length === 0, `${what}: the arguments of ${name} lack ${missing.join(', ')}: ${fn!.arguments}`);
  return { name: name!, args: args as Record<string, unknown> };
}

/** The one message of a non-streamed answer that must call a tool. */
function toolCallsOf(response: OpenAI.ChatCompletion, what: string): OpenAI.ChatCompletionMessageToolCall[] {
  const choice = response.choices[0];
  const calls = choice?.message?.tool_calls ?? [];
  expect(calls.length > 0, `${what}: no tool_calls; the server answered ${JSON.stringify(choice?.message?.content ?? null).slice(0, 200)} (finish_reason ${choice?.finish_reason})`);
  expect(choice!.finish_reason === 'tool_calls', `${what}: finish_reason is ${JSON.stringify(choice!.finish_reason)}, not "tool_calls"`);
  return calls;
}

const names = WEATHER_TOOLS.map((t) => t.function.name);

function toolsCheck(client: OpenAI, model: PlanModel, label: string, route: string): Check {
  return {
    name: `tools${label}`,
    async run() {
      const base = { model: model.alias, max_tokens: MAX_TOKENS, temperature: 0, tools: WEATHER_TOOLS, parallel_tool_calls: false } as const;
      // "required": some call, whichever the model picks.
      const required = toolCallsOf(await client.chat.completions.create({ ...base, messages: QUESTION, tool_choice: 'required' }), 'tool_choice "required"');
      const first = checkToolCall(required[0], names, 'tool_choice "required"');
      // A named function: that one (LangChain's bind_tools(tool_choice=<name>), instructor's TOOLS mode).
      const named = toolCallsOf(await client.chat.completions.create({ ...base, messages: QUESTION, tool_choice: { type: 'function', function: { name: 'get_time' } } }), 'tool_choice get_time');
      for (const call of named) checkToolCall(call, ['get_time'], 'tool_choice get_time');
      // The result sent back: the model answers in words.
      const call = required[0]!;
      const followUp = await client.chat.completions.create({
        model: model.alias,
        max_tokens: 48,
        temperature: 0,
        tools: WEATHER_TOOLS,
        messages: [
          ...QUESTION,
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: JSON.stringify({ city: 'Tokyo', sky: 'clear', temperature_c: 21 }) },
        ],
      });
      const answer = followUp.choices[0]?.message;
      expect((answer?.content ?? '').trim().length > 0 || (answer?.tool_calls ?? []).length > 0, `the turn after the tool result is empty (finish_reason ${followUp.choices[0]?.finish_reason})`);
      // A function the request does not have: refused as the client's error.
      const unknown = await refused(() => client.chat.completions.create({ ...base, messages: QUESTION, tool_choice: { type: 'function', function: { name: 'no_such_function' } } }));
      expect(unknown.status >= 400 && unknown.status < 500, `a tool_choice naming no tool got HTTP ${unknown.status} (${unknown.message}), not a 4xx`);
      return `required: ${first.name}(${JSON.stringify(first.args)}); named: get_time; result turn answered; unknown name: HTTP ${unknown.status} (route: ${route.split(': ')[0]})`;
    },
  };
}

/** The tool checks, or, where the model's template cannot call tools, the same names skipped with the reason and the fix. */
function toolChecks(client: OpenAI, model: PlanModel, label: string, tools: ToolRoute): Check[] {
  const checks = [toolsCheck(client, model, label, tools.route), toolsStreamCheck(client, model, label)];
  const reason = tools.unsupported;
  if (reason === undefined) return checks;
  return checks.map((check) => ({ name: check.name, run: () => skip(`not supported by this model's template: ${reason}`) }));
}

/** One delta of a streamed tool call, as the chunks carry it. */
export interface ToolCallDelta {
  index: number;
  id?: string | null;
  type?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}

export interface AccumulatedCall {
  id: string;
  name: string;
  arguments: string;
  /** How many deltas carried an id, a name: OpenAI sends each once, in the call's first delta. */
  idDeltas: number;
  nameDeltas: number;
}

/**
 * Streamed calls put together as the SDKs do: per index, every string of a delta appended (the
 * Python SDK's accumulate_delta, LangChain's tool_call_chunks). A server that repeats a call's
 * name in each delta gives those clients "get_weatherget_weather...".
 */
export function accumulateToolCalls(deltas: readonly ToolCallDelta[]): Map<number, AccumulatedCall> {
  const calls = new Map<number, AccumulatedCall>();
  for (const delta of deltas) {
    const call = calls.get(delta.index) ?? { id: '', name: '', arguments: '', idDeltas: 0, nameDeltas: 0 };
    if (delta.id) {
      call.id += delta.id;
      call.idDeltas++;
    }
    if (delta.function?.name) {
      call.name += delta.function.name;
      call.nameDeltas++;
    }
    call.arguments += delta.function?.arguments ?? '';
    calls.set(delta.index, call);
  }
  return calls;
}

/** What is wrong with streamed calls as a client reads them: a name or id sent more than once. */
export function repeatedInStream(calls: ReadonlyMap<number, AccumulatedCall>): string | undefined {
  for (const [index, call] of calls) {
    if (call.nameDeltas > 1) return `call ${index} names its function in ${call.nameDeltas} deltas, so clients that join deltas as the API specifies (the openai SDK's stream helper, LangChain) read the name ${JSON.stringify(call.name.slice(0, 80))}: OpenAI sends it once, in the call's first delta`;
    if (call.idDeltas > 1) return `call ${index} carries its id in ${call.idDeltas} deltas (joined: ${JSON.stringify(call.id.slice(0, 80))}): OpenAI sends it once, in the call's first delta`;
  }
  return undefined;
}

function toolsStreamCheck(client: OpenAI, model: PlanModel, label: string): Check {
  return {
    name: `tools (stream)${label}`,
    async run() {
      const stream = await client.chat.completions.create({ model: model.alias, max_tokens: MAX_TOKENS, temperature: 0, tools: WEATHER_TOOLS, parallel_tool_calls: false, tool_choice: 'required', messages: QUESTION, stream: true });
      // OpenAI's shape: the first delta of a call carries its index, id and name; later ones append arguments.
      const deltas: ToolCallDelta[] = [];
      let finishReason: string | null | undefined;
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        deltas.push(...(choice?.delta?.tool_calls ?? []));
        if (choice?.finish_reason) finishReason = choice.finish_reason;
      }
      const calls = accumulateToolCalls(deltas);
      expect(calls.size > 0, `the stream carried no tool_calls deltas (finish_reason ${finishReason})`);
      expect(finishReason === 'tool_calls', `the stream ended with finish_reason ${JSON.stringify(finishReason)}, not "tool_calls"`);
      const repeated = repeatedInStream(calls);
      expect(repeated === undefined, repeated!);
      const call = calls.get(0) ?? calls.values().next().value!;
      expect(call.id, 'the streamed call has no id');
      const { name, args } = checkToolCall({ function: { name: call.name, arguments: call.arguments } }, names, 'the streamed call');
      return `${deltas.length} tool_calls deltas, the name once, ${name}(${JSON.stringify(args)})`;
    },
  };
}

/**
 * Whether text is the beginning of some JSON object: what a JSON grammar produces when
 * max_tokens cuts it. A character walk over the structure (strings, escapes, nesting, literals),
 * enough to tell a grammar's output from prose.
 */
export function isJsonObjectPrefix(text: string): boolean {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{')) return false;
  const closers: string[] = [];
  let inString = false;
  let escaped = false;
  for (const ch of trimmed) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      else if (ch < ' ') return false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') closers.push('}');
    else if (ch === '[') closers.push(']');
    else if (ch === '}' || ch === ']') {
      if (closers.pop() !== ch) return false;
      if (closers.length === 0) return false; // closed: then it would have parsed whole
    } else if (!/[\s,:0-9eE.+\-truefalsn]/.test(ch)) return false;
  }
  return closers.length > 0;
}

/** The JSON object a structured answer holds, or a failure saying what came instead. */
function parsedObject(response: OpenAI.ChatCompletion, what: string): Record<string, unknown> | 'cut' {
  const choice = response.choices[0];
  const content = choice?.message?.content ?? '';
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    // A model that keeps writing inside the grammar is cut by max_tokens: JSON so far is what the server owes.
    if (choice?.finish_reason === 'length' && isJsonObjectPrefix(content)) return 'cut';
    throw new CheckFailure(`${what}: the answer is not JSON (finish_reason ${choice?.finish_reason}): ${JSON.stringify(content).slice(0, 200)}`);
  }
  expect(value !== null && typeof value === 'object' && !Array.isArray(value), `${what}: the answer is JSON but not an object: ${content.slice(0, 200)}`);
  return value as Record<string, unknown>;
}

/** The few rules of PLACE_SCHEMA, checked by hand: required keys, their types, no other keys. */
export function placeSchemaViolations(value: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(PLACE_SCHEMA.properties)) {
    if (!(key in value)) problems.push(`${key} missing`);
    else if (spec.type === 'integer' ? !Number.isInteger(value[key]) : typeof value[key] !== spec.type) problems.push(`${key} is ${JSON.stringify(value[key])}, not ${spec.type === 'integer' ? 'an integer' : `a ${spec.type}`}`);
    else if ('maxLength' in spec && (value[key] as string).length > spec.maxLength) problems.push(`${key} is longer than ${spec.maxLength}`);
  }
  for (const key of Object.keys(value)) if (!(key in PLACE_SCHEMA.properties)) problems.push(`${key} is not in the schema`);
  return problems;
}

function structuredOutputCheck(client: OpenAI, model: PlanModel, label: string): Check {
  return {
    name: `structured output${label}`,
    async run() {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Name a large city, its country, its population in millions and whether it is the capital, as JSON.' }];
      const object = parsedObject(await client.chat.completions.create({ model: model.alias, max_tokens: MAX_TOKENS, temperature: 0, messages, response_format: { type: 'json_object' } }), 'json_object');
      const objectSaid = object === 'cut' ? `JSON until max_tokens (${MAX_TOKENS})` : `${Object.keys(object).length} keys`;
      // Through the SDK's own parse helper, as LangChain's with_structured_output(method="json_schema")
      // and instructor's JSON_SCHEMA mode call it: the answer must come back as `parsed`.
      const schema = { type: 'json_schema', json_schema: { name: 'place', strict: true, schema: PLACE_SCHEMA as unknown as Record<string, unknown> } } as const;
      let parsedReply;
      try {
        parsedReply = await client.chat.completions.parse({ model: model.alias, max_tokens: MAX_TOKENS, temperature: 0, messages, response_format: schema });
      } catch (error) {
        // The schema bounds every field, so a complete object fits in max_tokens.
        if (error instanceof LengthFinishReasonError) throw new CheckFailure(`json_schema: the answer was cut at max_tokens (${MAX_TOKENS}) although the schema bounds every field`);
        if (error instanceof SyntaxError) throw new CheckFailure(`json_schema: the answer is not JSON: ${error.message}`);
        throw error;
      }
      const place = parsedReply.choices[0]?.message?.parsed as Record<string, unknown> | null | undefined;
      expect(place && typeof place === 'object' && !Array.isArray(place), `json_schema: the SDK's parse helper found no object (parsed ${JSON.stringify(place)}, content ${JSON.stringify(parsedReply.choices[0]?.message?.content).slice(0, 200)})`);
      const problems = placeSchemaViolations(place);
      expect(problems.length === 0, `json_schema: the answer does not match the schema (${problems.join('; ')}): ${JSON.stringify(place)}`);
      return `json_object: ${objectSaid}; json_schema (strict): ${JSON.stringify(place)}`;
    },
  };
}

/** OpenAI's Responses API (llama-server has it): text out of a short input. */
function responsesCheck(client: OpenAI, model: PlanModel, label: string): Check {
  return {
    name: `responses${label}`,
    async run() {
      const response = await client.responses.create({ model: model.alias, input: 'Say hello in one short sentence.', max_output_tokens: 24, temperature: 0 });
      expect(response.status === 'completed' || response.status === 'incomplete', `/v1/responses answered status ${JSON.stringify(response.status)}`);
      expect(response.output_text.trim().length > 0, `/v1/responses carried no output text: ${JSON.stringify(response.output).slice(0, 200)}`);
      return `${response.usage?.output_tokens ?? '?'} output tokens, status ${response.status}`;
    },
  };
}

/**
 * Anthropic's Messages API (llama-server has it): what Claude clients and SDKs send, the key as
 * x-api-key; plain and streamed (its server-sent events: message_start, content_block_delta, message_stop).
 */
function anthropicMessagesCheck(plan: Plan, model: PlanModel, label: string): Check {
  return {
    name: `anthropic messages${label}`,
    async run() {
      const url = `${originOf(plan.server.baseUrl)}/v1/messages`;
      const key = serverApiKey(plan);
      const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...(key ? { 'x-api-key': key } : {}) };
      // Greedy: this llama.cpp sends message_start only with a partial result of exactly one decoded
      // token (server-task.cpp to_json_anthropic, n_decoded == 1); a sampled first token whose text
      // is held back (a possible stop string) skips it. Seen once in make test; an upstream bug.
      const body = { model: model.alias, max_tokens: 24, temperature: 0, messages: [{ role: 'user', content: 'Say hello in one short sentence.' }] };
      const plain = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(120_000) });
      const text = await plain.text();
      expect(plain.status === 200, `/v1/messages answered HTTP ${plain.status}: ${text.slice(0, 200)}`);
      const message = JSON.parse(text) as { type?: string; role?: string; content?: { type: string; text?: string }[]; stop_reason?: string };
      expect(message.type === 'message' && message.role === 'assistant', `/v1/messages answered no assistant message: ${text.slice(0, 200)}`);
      expect((message.content ?? []).some((block) => block.type === 'text' && (block.text ?? '').trim().length > 0), `/v1/messages carried no text block: ${text.slice(0, 200)}`);
      const streamed = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ ...body, stream: true }), signal: AbortSignal.timeout(120_000) });
      const events = (await streamed.text()).split('\n').filter((line) => line.startsWith('event: ')).map((line) => line.slice('event: '.length).trim());
      expect(streamed.status === 200, `/v1/messages (stream) answered HTTP ${streamed.status}`);
      for (const event of ['message_start', 'content_block_delta', 'message_stop']) expect(events.includes(event), `/v1/messages (stream) sent no ${event} event (sent: ${[...new Set(events)].join(', ')})`);
      return `stop_reason ${message.stop_reason}; streamed ${events.filter((e) => e === 'content_block_delta').length} content_block_delta events`;
    },
  };
}

/** The server's own request to a path, with the key as a bearer token when there is one. */
async function serverFetch(plan: Plan, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; text: string }> {
  const key = serverApiKey(plan);
  const response = await fetch(`${originOf(plan.server.baseUrl)}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(key ? { authorization: `Bearer ${key}` } : {}) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, text: await response.text() };
}

/** Tokens of a text, as both backends count them (llama-server /tokenize, llama_cpp.server /extras/tokenize). */
function tokenizeCheck(plan: Plan, tokenize: { path: string; field: string }): Check {
  return {
    name: 'tokenize',
    async run() {
      const { status, text } = await serverFetch(plan, tokenize.path, { method: 'POST', body: { model: plan.model.alias, [tokenize.field]: 'What is the weather in Tokyo?' } });
      expect(status === 200, `${tokenize.path} answered HTTP ${status}: ${text.slice(0, 200)}`);
      const tokens = (JSON.parse(text) as { tokens?: unknown[] }).tokens;
      expect(Array.isArray(tokens) && tokens.length > 0 && tokens.every((t) => Number.isInteger(t)), `${tokenize.path} gave no token ids: ${text.slice(0, 200)}`);
      return `${tokens.length} tokens from ${tokenize.path}`;
    },
  };
}

/**
 * Prometheus text from /metrics, where the profile turned it on: the counters of the requests the
 * checks made. llama-server's router answers per model (`?model=<alias>`).
 */
function metricsCheck(plan: Plan): Check {
  return {
    name: 'metrics',
    async run() {
      const said: string[] = [];
      for (const model of plan.models) {
        const path = plan.models.length > 1 ? `/metrics?model=${encodeURIComponent(model.alias)}` : '/metrics';
        const { status, text } = await serverFetch(plan, path);
        expect(status === 200, `${path} answered HTTP ${status}: ${text.slice(0, 200)}`);
        const samples = text.split('\n').filter((line) => /^[a-z_:]+(\{[^}]*\})? [0-9.eE+-]+$/.test(line));
        const tokens = samples.find((line) => line.startsWith('llamacpp:tokens_predicted_total'));
        expect(tokens, `${path} has no llamacpp:tokens_predicted_total sample: ${text.slice(0, 200)}`);
        said.push(`${path}: ${samples.length} samples, ${tokens}`);
      }
      return said.join('; ');
    },
  };
}

/** An API error as the openai client raises it: the HTTP status and the server's error body. */
export async function refused(call: () => Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await call();
  } catch (error) {
    const e = error as { status?: number; error?: { message?: string }; message?: string };
    if (typeof e.status === 'number') return { status: e.status, message: e.error?.message ?? e.message ?? '' };
    throw error;
  }
  throw new CheckFailure('the server answered it as if it were a valid request');
}

/**
 * Per model (its alias in the name when there are several): tools, tools streamed, structured
 * output, and the backend's newer endpoints; then the guide's promises (reproducible answers,
 * Japanese streamed, bad requests refused as 4xx), /tokenize, /metrics where it is on, and the chat page.
 */
export function conformanceChecks(plan: Plan, client: OpenAI, backend: { api: ApiSurface; tokenize: { path: string; field: string }; toolRoute(model: PlanModel): ToolRoute }, triples = 3): Check[] {
  const surface = backend.api;
  const perModel = plan.models.flatMap((model) => {
    const label = plan.models.length > 1 ? ` ${model.alias}` : '';
    return [
      ...toolChecks(client, model, label, backend.toolRoute(model)),
      structuredOutputCheck(client, model, label),
      ...(surface.responses ? [responsesCheck(client, model, label)] : []),
      ...(surface.anthropicMessages ? [anthropicMessagesCheck(plan, model, label)] : []),
    ];
  });
  return [
    ...perModel,
    ...guidePromiseChecks(plan, client, triples),
    tokenizeCheck(plan, backend.tokenize),
    ...(plan.server.metrics ? [metricsCheck(plan)] : []),
    ...(plan.server.webUi ? [chatPageCheck(plan)] : []),
  ];
}

/**
 * The guide's promises, for its first model: the same answer every time (server.reproducible),
 * Japanese streamed whole, and the client's mistakes answered as its own (once per server).
 */
function guidePromiseChecks(plan: Plan, client: OpenAI, triples: number): Check[] {
  const alias = plan.model.alias;
  const reproducible = plan.server.reproducible
    ? reproducibleCheck(client, alias, triples)
    : { name: 'reproducible', run: () => skip(plan.server.notReproducibleBecause ?? 'answers are not promised to repeat here') };
  return [reproducible, japaneseStreamCheck(client, alias, plan.server.reproducible), badRequestsCheck(plan.server.baseUrl, alias, serverApiKey(plan))];
}

/**
 * llama.cpp's chat page at the server's root: the page itself (not a 404, not the blank page of a
 * build without it, ggml-org/llama.cpp#24665) and every script it loads, fetched without a key as
 * a browser does; on a key-protected server the API still refuses a request without the key.
 */
export function chatPageCheck(plan: Plan): Check {
  return {
    name: 'chat page',
    async run() {
      const origin = originOf(plan.server.baseUrl);
      const get = (path: string, headers: Record<string, string> = {}) =>
        fetch(`${origin}${path}`, { headers: { 'accept-encoding': 'gzip', ...headers }, signal: AbortSignal.timeout(30_000) });
      const page = await get('/');
      const html = await page.text();
      expect(page.status === 200, `GET / answered HTTP ${page.status}: ${html.slice(0, 200)}`);
      expect(/text\/html/.test(page.headers.get('content-type') ?? ''), `GET / is ${page.headers.get('content-type')}, not a page`);
      const scripts = [...html.matchAll(/(?:src|href|import\()\s*=?\s*["'](\.?\/?_app\/[^"']+\.js)["']/g)].map((m) => `/${(m[1] as string).replace(/^\.?\//, '')}`);
      expect(scripts.length > 0, `GET / loads no script of the page (a blank page): ${html.slice(0, 300)}`);
      for (const script of new Set(scripts)) {
        const asset = await get(script);
        const body = await asset.text();
        expect(asset.status === 200 && body.length > 0, `${script}, which the page loads, answered HTTP ${asset.status} without a key: ${body.slice(0, 200)}`);
      }
      let keyNote = '';
      if (serverApiKey(plan)) {
        const models = await get('/v1/models');
        expect(models.status === 401, `GET /v1/models without the key answered HTTP ${models.status}, not 401: the page must not open the API`);
        keyNote = '; the API without the key: 401';
      }
      return `GET / ${Math.round(html.length / 1024)} kB, ${new Set(scripts).size} scripts it loads${keyNote}`;
    },
  };
}
