/**
 * A small OpenAI-compatible chat server for the checks' own tests: `sound` answers as the API
 * does; each defect is one a real server had (today's llama-server and llama_cpp.server), so a
 * check is shown failing on the defect it names.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInDefects {
  /** Bodies it cannot read answered 500 server_error. */
  badBodiesAs500?: boolean;
  /** A streamed character's bytes split between two chunks. */
  splitCharacters?: boolean;
  /** A prompt's first answer differs from its repeats (cold against warm). */
  coldDiffers?: boolean;
  /** The same answer, but a repeat's log-probabilities move. */
  warmLogprobsMove?: boolean;
  /** A streamed tool call repeats its id and name in every delta. */
  repeatToolName?: boolean;
}

export interface StandIn {
  baseUrl: string;
  close(): Promise<void>;
}

const ANSWER = '東京タワー、浅草寺、明治神宮です。';

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** What the API would refuse, or undefined. */
function refusal(raw: Buffer): string | undefined {
  if (raw.length === 0) return 'empty body';
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return 'not UTF-8';
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return 'not JSON';
  }
  if (!Array.isArray(body.messages) || body.messages.some((m) => typeof m !== 'object' || m === null || Array.isArray(m))) return 'messages must be objects';
  if (typeof body.max_tokens === 'number' && body.max_tokens < 1) return 'max_tokens below 1';
  if (typeof body.top_logprobs === 'number' && body.top_logprobs > 20) return 'top_logprobs above 20';
  return undefined;
}

export async function startStandIn(defects: StandInDefects = {}): Promise<StandIn> {
  const seen = new Set<string>();
  const server: Server = createServer(async (request, response) => {
    const raw = await bodyOf(request);
    const problem = refusal(raw);
    if (problem) {
      const status = defects.badBodiesAs500 ? 500 : 400;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: problem, type: status === 500 ? 'server_error' : 'invalid_request_error' } }));
      return;
    }
    const body = JSON.parse(raw.toString('utf8')) as { messages: unknown[]; stream?: boolean; tools?: unknown[] };
    const key = JSON.stringify(body.messages);
    const warm = seen.has(key);
    seen.add(key);
    const text = defects.coldDiffers && !warm ? ANSWER.replace('浅草寺', '上野公園') : ANSWER;
    const logprob = defects.warmLogprobsMove && warm ? -0.25 : -0.125;
    if (!body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({
        id: 'x', object: 'chat.completion', created: 0, model: 'stand-in',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text }, logprobs: { content: [...text].map((token) => ({ token, logprob, bytes: null, top_logprobs: [] })) } }],
      }));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (delta: unknown, finish: string | null = null) => response.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'stand-in', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    if (body.tools) {
      const pieces = ['{"city', '": "Tok', 'yo"}'];
      pieces.forEach((args, i) => send({ tool_calls: [i === 0 || defects.repeatToolName ? { index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: args } } : { index: 0, function: { arguments: args } }] }));
      send({}, 'tool_calls');
    } else if (defects.splitCharacters) {
      const bytes = Buffer.from(text);
      const cut = 1; // inside the first character (3 bytes in UTF-8)
      for (const part of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
        response.write(Buffer.concat([Buffer.from('data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"stand-in","choices":[{"index":0,"delta":{"content":"'), part, Buffer.from('"},"finish_reason":null}]}\n\n')]));
      }
      send({}, 'stop');
    } else {
      for (const ch of text) send({ content: ch });
      send({}, 'stop');
    }
    response.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
