/**
 * The guide's promise checks, each run against a stand-in that answers as the API does and one
 * with the defect the check names (the defects today's servers had): a check that cannot fail
 * proves nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import OpenAI from 'openai';
import { accumulateToolCalls, repeatedInStream, type ToolCallDelta } from '../../../checks/conformance.ts';
import { badRequestsCheck } from '../../../checks/bad-requests.ts';
import { answerDifference, japaneseStreamCheck, reproducibleCheck } from '../../../checks/reproducible.ts';
import { runChecks, type Check } from '../../../checks/report.ts';
import { startStandIn, type StandIn, type StandInDefects } from '../../openai-stand-in.ts';

async function outcome(check: (server: StandIn, client: OpenAI) => Check, defects: StandInDefects = {}) {
  const server = await startStandIn(defects);
  try {
    const client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'x', maxRetries: 0, timeout: 10_000 });
    const [result] = await runChecks([check(server, client)], () => {});
    return result!;
  } finally {
    await server.close();
  }
}

describe('the reproducibility check', () => {
  const check = (_: StandIn, client: OpenAI) => reproducibleCheck(client, 'm', 2);

  it('passes a server whose cold, warm and busy answers are the same, log-probabilities included', async () => {
    const result = await outcome(check);
    assert.equal(result.ok, true, result.detail);
    assert.match(result.detail, /2 cold\/warm\/busy triples at temperature 0: the same text and every token's log-probability/);
  });

  it('fails a server whose first answer to a prompt differs from its repeats, saying where', async () => {
    const result = await outcome(check, { coldDiffers: true });
    assert.equal(result.ok, false);
    assert.match(result.detail, /triple 1 of 2, cold against warm .*: the text differs from character 6: "東京タワー、上野公園/);
  });

  it('fails a server whose repeats move a log-probability under the same text', async () => {
    const result = await outcome(check, { warmLogprobsMove: true });
    assert.equal(result.ok, false);
    assert.match(result.detail, /token 0's log-probability is -0.125 against -0.25/);
  });

  it('says where two answers part', () => {
    assert.equal(answerDifference({ text: 'abc' }, { text: 'abc' }), undefined);
    assert.match(answerDifference({ text: 'abcdef' }, { text: 'abXdef' })!, /from character 2/);
    assert.equal(answerDifference({ text: 'a', logprobs: [-1] }, { text: 'a' }), undefined, 'no log-probabilities on one side: the text decides');
  });
});

describe('the Japanese streaming check', () => {
  it('passes whole characters whose chunks join into the whole answer', async () => {
    const result = await outcome((_, client) => japaneseStreamCheck(client, 'm', true));
    assert.equal(result.ok, true, result.detail);
    assert.match(result.detail, /none split, joined equal to the whole answer/);
  });

  it('fails a character split between chunks (U+FFFD where the client decoded half)', async () => {
    const result = await outcome((_, client) => japaneseStreamCheck(client, 'm', true), { splitCharacters: true });
    assert.equal(result.ok, false);
    assert.match(result.detail, /chunk 1 of 2 carries U\+FFFD/);
  });

  it('fails streamed chunks that join into another answer than the whole one', async () => {
    const result = await outcome((_, client) => japaneseStreamCheck(client, 'm', true), { coldDiffers: true });
    assert.equal(result.ok, false);
    assert.match(result.detail, /the chunks joined are not the answer the same request got whole/);
  });
});

describe('the bad requests check', () => {
  it('passes a server that answers every unreadable body and out-of-range value with a 400 invalid_request_error', async () => {
    const result = await outcome((server) => badRequestsCheck(server.baseUrl, 'm', undefined));
    assert.equal(result.ok, true, result.detail);
    assert.match(result.detail, /not UTF-8: 400; .*not JSON: 400; an empty body: 400; .*nested 100000 levels deep: 400; max_tokens -1: 400; top_logprobs 5000: 400/);
  });

  it('fails a server that answers them as its own fault (500), naming the body', async () => {
    const result = await outcome((server) => badRequestsCheck(server.baseUrl, 'm', undefined), { badBodiesAs500: true });
    assert.equal(result.ok, false);
    assert.match(result.detail, /a body that is not UTF-8 got HTTP 500, not a 4xx/);
  });
});

describe('streamed tool calls as clients join them', () => {
  async function deltas(defects: StandInDefects): Promise<ToolCallDelta[]> {
    const server = await startStandIn(defects);
    try {
      const client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'x', maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'weather?' }], tools: [{ type: 'function', function: { name: 'get_weather' } }], stream: true });
      const seen: ToolCallDelta[] = [];
      for await (const chunk of stream) seen.push(...(chunk.choices[0]?.delta?.tool_calls ?? []));
      return seen;
    } finally {
      await server.close();
    }
  }

  it('joins a call named once into its name and arguments', async () => {
    const calls = accumulateToolCalls(await deltas({}));
    assert.deepEqual({ ...calls.get(0) }, { id: 'call_1', name: 'get_weather', arguments: '{"city": "Tokyo"}', idDeltas: 1, nameDeltas: 1 });
    assert.equal(repeatedInStream(calls), undefined);
  });

  it('fails a name repeated in every delta, with the name such a client reads', async () => {
    const calls = accumulateToolCalls(await deltas({ repeatToolName: true }));
    assert.equal(calls.get(0)!.name, 'get_weatherget_weatherget_weather');
    assert.match(repeatedInStream(calls)!, /call 0 names its function in 3 deltas, .* read the name "get_weatherget_weatherget_weather"/);
  });
});
