/**
 * Our llama_cpp.server launcher's request rewrites, in Python as it runs them (the server route
 * itself is proven by the llama-cpp-python e2e's smoke checks: tools, structured output, errors).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';

const LAUNCHER_DIR = join(import.meta.dirname, '..', '..', 'scripts', 'python');

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
});
