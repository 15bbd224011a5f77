/**
 * Bodies a server cannot read, and values outside OpenAI's ranges, are the client's mistake: a
 * 4xx with an OpenAI-shaped invalid_request_error that says what is wrong. A 5xx is retried by
 * clients (the openai SDKs twice, with backoff) and reported as the server's fault.
 */
import { expect, type Check } from './report.ts';

export interface BadRequest {
  what: string;
  body: Blob | string;
}

/** Nesting past what any JSON parser here takes in one go (Python's stops near 1000). */
const DEPTH = 100_000;

export function badRequests(model: string): BadRequest[] {
  const chat = (extra: Record<string, unknown>) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], ...extra });
  const notUtf8 = Buffer.concat([Buffer.from(`{"model": "${model}", "messages": [{"role": "user", "content": "`), Buffer.from([0xff, 0xfe, 0xe6, 0x9d]), Buffer.from('"}]}')]);
  return [
    { what: 'a body that is not UTF-8', body: new Blob([new Uint8Array(notUtf8)]) },
    { what: 'a body that is not JSON', body: `{"model": "${model}", "messages": [` },
    { what: 'an empty body', body: '' },
    { what: `a body nested ${DEPTH} levels deep`, body: `{"model": "${model}", "messages": ${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}` },
    { what: 'max_tokens -1', body: chat({ max_tokens: -1 }) },
    { what: 'top_logprobs 5000', body: chat({ logprobs: true, top_logprobs: 5000, max_tokens: 4 }) },
  ];
}

/** POSTs each bad body to /v1/chat/completions as it is, bytes and all. */
export function badRequestsCheck(baseUrl: string, model: string, apiKey: string | undefined): Check {
  return {
    name: 'bad requests',
    async run() {
      const said: string[] = [];
      for (const request of badRequests(model)) {
        const response = await fetch(`${baseUrl.replace(/\/$/, '')}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
          body: request.body,
          signal: AbortSignal.timeout(60_000),
        });
        const text = await response.text();
        expect(response.status >= 400 && response.status < 500, `${request.what} got HTTP ${response.status}, not a 4xx (the client's mistake, not the server's): ${text.slice(0, 200)}`);
        let error: { message?: unknown; type?: unknown } | undefined;
        try {
          error = (JSON.parse(text) as { error?: { message?: unknown; type?: unknown } }).error;
        } catch {
          // said below
        }
        expect(error && typeof error.message === 'string' && error.message.trim().length > 0, `${request.what} got HTTP ${response.status} without an OpenAI-shaped error ({"error": {"message": ...}}): ${text.slice(0, 200)}`);
        expect(error.type === 'invalid_request_error', `${request.what} got error type ${JSON.stringify(error.type)}, not "invalid_request_error"`);
        said.push(`${request.what}: ${response.status}`);
      }
      return said.join('; ');
    },
  };
}
