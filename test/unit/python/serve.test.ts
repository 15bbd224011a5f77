/**
 * Our llama_cpp.server launcher's request rewrites, in Python as it runs them (the server route
 * itself is proven by the llama-cpp-python e2e's smoke checks: tools, structured output, errors).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';

const LAUNCHER_DIR = join(import.meta.dirname, '..', '..', '..', 'scripts', 'python');

/** Calls serve.<fn>(*args) in python3 and returns its JSON result. */
async function launcher(fn: string, ...args: unknown[]): Promise<unknown> {
  const code = `import json, sys; sys.path.insert(0, ${JSON.stringify(LAUNCHER_DIR)}); import serve; print(json.dumps(serve.${fn}(*json.loads(sys.argv[1]))))`;
  const { stdout } = await execa('python3', ['-c', code, JSON.stringify(args)]);
  return JSON.parse(stdout);
}

describe("our llama_cpp.server launcher's rewrites", () => {
  it('turns OpenAI json_schema into the json_object with a schema that llama-cpp-python constrains to, and leaves other formats alone', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    assert.deepEqual(await launcher('as_llama_cpp_response_format', { type: 'json_schema', json_schema: { name: 'place', strict: true, schema } }), { type: 'json_object', schema });
    assert.deepEqual(await launcher('as_llama_cpp_response_format', { type: 'json_schema', json_schema: { name: 'x' } }), { type: 'json_object' });
    assert.deepEqual(await launcher('as_llama_cpp_response_format', { type: 'json_object' }), { type: 'json_object' });
    assert.equal(await launcher('as_llama_cpp_response_format', null), null);
  });

  it('gives the model the tool calls and results a client sends back as text, which chat formats without tools otherwise drop', async () => {
    const messages = [
      { role: 'user', content: 'Weather in Tokyo?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Tokyo"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"sky": "clear"}' },
    ];
    assert.deepEqual(await launcher('with_tool_turns_as_text', messages), [
      { role: 'user', content: 'Weather in Tokyo?' },
      { role: 'assistant', content: '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Tokyo"}}\n</tool_call>' },
      { role: 'user', content: '<tool_response>\n{"sky": "clear"}\n</tool_response>' },
    ]);
  });

  it('keeps arguments a client sent that are not JSON as their text instead of failing the request', async () => {
    const messages = [{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{not json' } }] }];
    assert.deepEqual(await launcher('with_tool_turns_as_text', messages), [{ role: 'assistant', content: '<tool_call>\n{"name": "f", "arguments": "{not json"}\n</tool_call>' }]);
  });

  it('describes the tools in the system message, after the one the client sent', async () => {
    const tool = { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } };
    const [system, user] = (await launcher('with_tools_described', [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Time?' }], [tool])) as { role: string; content: string }[];
    assert.equal(system!.role, 'system');
    assert.match(system!.content, /^Be brief\.\n\n# Tools\n[\s\S]*<tools>\n\{"type": "function", "function": \{"name": "get_time"/);
    assert.deepEqual(user, { role: 'user', content: 'Time?' });
  });

  it('sends a streamed call\'s id, type and name in its first delta only, as OpenAI does, and leaves other chunks alone', async () => {
    const call = (args: string) => ({ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: args } });
    const chunks = [
      { choices: [{ index: 0, delta: { role: 'assistant', content: null } }] },
      { choices: [{ index: 0, delta: { tool_calls: [call('{"city"')] } }] },
      { choices: [{ index: 0, delta: { tool_calls: [call(': "Tokyo"}')] } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ ...call('{}'), index: 1, id: 'call_2' }] } }] },
      { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
    ];
    const code = `import json, sys; sys.path.insert(0, ${JSON.stringify(LAUNCHER_DIR)}); import serve; print(json.dumps(list(serve.tool_calls_named_once(iter(json.loads(sys.argv[1]))))))`;
    const out = JSON.parse((await execa('python3', ['-c', code, JSON.stringify(chunks)])).stdout) as typeof chunks;
    assert.deepEqual(out[1]!.choices[0]!.delta, { tool_calls: [call('{"city"')] });
    assert.deepEqual(out[2]!.choices[0]!.delta, { tool_calls: [{ index: 0, function: { arguments: ': "Tokyo"}' } }] });
    assert.deepEqual(out[3]!.choices[0]!.delta, { tool_calls: [{ ...call('{}'), index: 1, id: 'call_2' }] }, 'a second call is named in its own first delta');
    assert.deepEqual(out[0], chunks[0]);
    assert.deepEqual(out[4], chunks[4]);
  });

  it('names what is wrong with a body it cannot read, and values outside OpenAI\'s ranges, before FastAPI reads it', async () => {
    const problem = async (raw: string | number[], path = '/v1/chat/completions') => {
      const code = `import json, sys; sys.path.insert(0, ${JSON.stringify(LAUNCHER_DIR)}); import serve; raw = json.loads(sys.argv[1]); raw = bytes(raw) if isinstance(raw, list) else raw.encode(); print(json.dumps(serve.body_problem(raw, sys.argv[2])))`;
      return JSON.parse((await execa('python3', ['-c', code, JSON.stringify(raw), path])).stdout) as [string, string | null] | null;
    };
    assert.match((await problem(''))![0], /empty/);
    assert.match((await problem([0x7b, 0x22, 0xff, 0x22, 0x7d]))![0], /not UTF-8 \(byte 0xff at offset 2\)/);
    assert.match((await problem('{"model": '))![0], /not JSON/);
    assert.match((await problem(`{"a": ${'['.repeat(5000)}${']'.repeat(5000)}}`))![0], /nested deeper/);
    assert.match((await problem('[1, 2]'))![0], /must be a JSON object, not list/);
    assert.deepEqual(await problem('{"max_tokens": -1}'), ["Invalid 'max_tokens': expected an integer from 1 up, got -1", 'max_tokens']);
    assert.deepEqual(await problem('{"top_logprobs": 5000}'), ["Invalid 'top_logprobs': expected an integer from 0 to 20, got 5000", 'top_logprobs']);
    assert.deepEqual(await problem('{"logprobs": 6}', '/v1/completions'), ["Invalid 'logprobs': expected an integer from 0 to 5, got 6", 'logprobs']);
    assert.equal(await problem('{"max_tokens": 16, "top_logprobs": 20}'), null);
    assert.equal(await problem('{"input": "x"}', '/v1/embeddings'), null);
  });
});
