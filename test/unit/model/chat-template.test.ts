import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { detectChatFamily, readChatTemplate } from '../../../scripts/lib/model/chat-template.ts';
import { resolveModel } from '../../../scripts/lib/profile/models.ts';
import { toolRoute } from '../../../scripts/lib/backend/llama-server/args.ts';
import { ggufFile } from '../../fixtures/gguf.ts';
import { tempDir } from '../../helpers.ts';

/** SmolLM2's own template, as its GGUF carries it: ChatML, no tools. */
const SMOLLM2 = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const LLAMA2 = "{% if messages[0]['role'] == 'system' %}{{ '<<SYS>>\\n' + messages[0]['content'] + '\\n<</SYS>>\\n\\n' }}{% endif %}{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}";
const GEMMA = "{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + message['role'] + '\\n' + message['content'] + '<end_of_turn>\\n' }}{% endfor %}";
const QWEN_TOOLS = "{%- if tools %}{{- '<|im_start|>system\\n# Tools\\n' }}{%- for tool in tools %}{{- tool | tojson }}{%- endfor %}{%- endif %}{{ '<|im_start|>assistant\\n' }}";
const PLAIN = "{% for message in messages %}{{ message['role'] + ': ' + message['content'] + '\\n' }}{% endfor %}";

describe('the GGUF chat template and its family (chat_format: auto)', () => {
  it('names the family by the markers its turns are made of', () => {
    assert.deepEqual(detectChatFamily(SMOLLM2), { family: 'chatml', describesTools: false });
    assert.deepEqual(detectChatFamily(LLAMA2), { family: 'llama-2', describesTools: false });
    assert.deepEqual(detectChatFamily(GEMMA), { family: 'gemma', describesTools: false });
    assert.deepEqual(detectChatFamily('[INST] {{ message }} [/INST]'), { family: 'mistral-instruct', describesTools: false });
    assert.deepEqual(detectChatFamily(PLAIN), { describesTools: false });
  });

  it('tells a template that renders tools from one that only mentions the word in its text', () => {
    assert.equal(detectChatFamily(QWEN_TOOLS).describesTools, true);
    assert.equal(detectChatFamily("{{ 'You may use tools wisely' }}").describesTools, true, 'inside an expression it is a string, but conservative: a template with tools is the model\'s own');
    assert.equal(detectChatFamily('tools are described nowhere').describesTools, false);
  });

  it('reads the template from the header past an array of vocabulary, and says when there is none', () => {
    const dir = tempDir('wb-chat-template-');
    const tokens = Array.from({ length: 70_000 }, (_, i) => `token-${i}`);
    const withTemplate = join(dir, 'with.gguf');
    writeFileSync(withTemplate, ggufFile({ 'general.architecture': 'llama', 'tokenizer.ggml.tokens': tokens, 'tokenizer.chat_template': SMOLLM2 }, [8]));
    assert.equal(readChatTemplate(withTemplate), SMOLLM2);
    const without = join(dir, 'without.gguf');
    writeFileSync(without, ggufFile({ 'general.architecture': 'llama' }, [8]));
    assert.equal(readChatTemplate(without), undefined);
    const notGguf = join(dir, 'page.html');
    writeFileSync(notGguf, '<html>not a model</html>');
    assert.throws(() => readChatTemplate(notGguf), /no GGUF magic/);
  });
});

describe('chat_format: auto in the plan, and the tools route it gives llama-server', () => {
  const model = (chat_format?: string) => ({ source: 'file:/models/m.gguf', alias: 'm', n_ctx: 2048, pooling: 'mean' as const, ...(chat_format ? { chat_format } : {}) });
  const withTemplate = (template: string | undefined) => (path: string) => {
    assert.equal(path, '/models/m.gguf');
    return template;
  };

  it('takes a named chat format as it is, without reading the file', () => {
    const resolved = resolveModel(model('llama-2'), '/cache', {}, () => assert.fail('read the file'));
    assert.equal(resolved.chatFormat, 'llama-2');
    assert.equal(resolved.chatFormatFrom, 'profile');
  });

  it('uses the family of a template without tools, so our template with tools serves it', () => {
    // file: sources are read where they are; existsSync is real, so point at a file that exists.
    const dir = tempDir('wb-auto-');
    const path = join(dir, 'm.gguf');
    writeFileSync(path, 'x');
    const resolved = resolveModel({ ...model('auto'), source: `file:${path}` }, '/cache', {}, () => SMOLLM2);
    assert.equal(resolved.chatFormat, 'chatml');
    assert.equal(resolved.chatFormatFrom, 'detected');
    const route = toolRoute(resolved);
    assert.match(route.route, /chatml-tools\.jinja \(chatml, the family of the GGUF's own template\)/);
    assert.equal(route.unsupported, undefined);
  });

  it("keeps a template that describes tools, and says a template of no known family cannot call them, with the fix", () => {
    const dir = tempDir('wb-auto-');
    const path = join(dir, 'm.gguf');
    writeFileSync(path, 'x');
    const own = resolveModel({ ...model(), source: `file:${path}` }, '/cache', {}, () => QWEN_TOOLS);
    assert.equal(own.chatFormat, undefined);
    assert.equal(own.chatFormatFrom, 'model');
    assert.deepEqual(toolRoute(own), { route: "the GGUF's own template, which describes tools" });
    const plain = resolveModel({ ...model(), source: `file:${path}` }, '/cache', {}, () => PLAIN);
    assert.equal(plain.chatFormatFrom, 'model');
    assert.match(toolRoute(plain).unsupported ?? '', /this model's chat template \(a template of no family we know\) describes no tools; set model\.chat_format to the family the model was trained on \(llama-2, chatml, gemma, qwen\)/);
  });

  it('waits for the file: a model not fetched yet is decided once it is', () => {
    const resolved = resolveModel(model(), '/cache', {}, withTemplate(SMOLLM2));
    assert.equal(resolved.chatFormatFrom, 'pending');
    assert.equal(resolved.chatFormat, undefined);
    assert.equal(toolRoute(resolved).unsupported, undefined, 'not refused before it is known');
  });
});
