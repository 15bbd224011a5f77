import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatTemplateArgs, llamaServerArgs, routerArgs, routerPreset } from '../../../../scripts/lib/backend/llama-server/args.ts';
import { cmakeBuildKey } from '../../../../scripts/lib/llama-cpp/cmake-build.ts';
import { planOf as plan } from '../../../helpers.ts';

describe("llama-server's argv", () => {
  it('speculates with ngram-map-k by default (auto, what make bench justified), with the n-gram type the profile names, none when off, and refuses it raw in extra_args', () => {
    const byDefault = llamaServerArgs(plan('default'), { modelPath: '/m.gguf' });
    assert.equal(byDefault[byDefault.indexOf('--spec-type') + 1], 'ngram-map-k');
    assert.ok(!llamaServerArgs(plan('off', { HOME: '/h' }, { off: 'extends: default\nserver:\n  speculative: off\n' }), { modelPath: '/m.gguf' }).includes('--spec-type'));
    // auto on a backend without speculation is off, not a refusal: only a mode named in the profile is refused.
    assert.equal(plan('lcp-auto', { HOME: '/h' }, { 'lcp-auto': 'extends: default\nserver:\n  backend: llama-cpp-python\n' }).server.speculative, 'off');
    const spec = plan('spec', { HOME: '/h' }, { spec: 'extends: default\nserver:\n  speculative: ngram-simple\n' });
    const args = llamaServerArgs(spec, { modelPath: '/m.gguf' });
    assert.equal(args[args.indexOf('--spec-type') + 1], 'ngram-simple');
    assert.deepEqual(spec.server.command.argv.slice(-2), args.slice(-2));
    assert.throws(() => plan('raw', { HOME: '/h' }, { raw: 'extends: default\nserver:\n  extra_args: ["--spec-type", "ngram-cache"]\n' }), /--spec-type is set by the profile, not by extra_args: use server\.speculative/);
    // llama_cpp.server has none: one message naming the field and the fix, not a setting silently ignored.
    assert.throws(() => plan('lcp', { HOME: '/h' }, { lcp: 'extends: default\nserver:\n  backend: llama-cpp-python\n  speculative: ngram-simple\n' }), (error: Error & { hint?: string }) => /server\.speculative: ngram-simple, but llama-cpp-python has no draft-free speculation/.test(error.message) && /use server\.backend: llama-server, or leave server\.speculative out/.test(error.hint ?? ''));
  });

  it("serves llama.cpp's chat page by default and builds it in (the build key names it); web_ui: false says --no-webui and builds without it; llama_cpp.server has no page", () => {
    const page = plan('default');
    assert.equal(page.server.webUi, true);
    assert.ok(!llamaServerArgs(page, { modelPath: '/m.gguf' }).includes('--no-webui'));
    const off = plan('off', { HOME: '/h' }, { off: 'extends: default\nserver:\n  web_ui: false\n' });
    assert.equal(off.server.webUi, false);
    assert.ok(llamaServerArgs(off, { modelPath: '/m.gguf' }).includes('--no-webui'));
    assert.notEqual(cmakeBuildKey(page, ['llama-server']), cmakeBuildKey(off, ['llama-server']), 'a build with the page is another build');
    assert.equal(plan('lcp', { HOME: '/h' }, { lcp: 'extends: default\nserver:\n  backend: llama-cpp-python\n' }).server.webUi, false);
    assert.throws(() => plan('lcp', { HOME: '/h' }, { lcp: 'extends: default\nserver:\n  backend: llama-cpp-python\n  web_ui: true\n' }), (error: Error & { hint?: string }) => /server\.web_ui: true, but llama-cpp-python has no chat page/.test(error.message) && /server\.backend: llama-server/.test(error.hint ?? ''));
    assert.throws(() => plan('raw', { HOME: '/h' }, { raw: 'extends: default\nserver:\n  extra_args: ["--path", "/srv/www"]\n' }), /--path is set by the profile, not by extra_args: use server\.web_ui/);
  });

  it('sleeps after server.idle_sleep without a request (--sleep-idle-seconds), never by default; refuses a malformed duration and a backend without it', () => {
    assert.ok(!llamaServerArgs(plan('default'), { modelPath: '/m.gguf' }).includes('--sleep-idle-seconds'));
    const value = (p: ReturnType<typeof plan>) => {
      const args = llamaServerArgs(p, { modelPath: '/m.gguf' });
      return args[args.indexOf('--sleep-idle-seconds') + 1];
    };
    assert.equal(value(plan('s', { HOME: '/h' }, { s: 'extends: default\nserver:\n  idle_sleep: 10m\n' })), '600');
    assert.equal(value(plan('s', { HOME: '/h' }, { s: 'extends: default\nserver:\n  idle_sleep: 90s\n' })), '90');
    assert.equal(plan('s', { HOME: '/h' }, { s: 'extends: default\nserver:\n  idle_sleep: 1h\n' }).server.idleSleepSeconds, 3600);
    assert.throws(() => plan('s', { HOME: '/h' }, { s: 'extends: default\nserver:\n  idle_sleep: 10 minutes\n' }), /server\.idle_sleep.*must be off or a duration such as 90s, 10m or 1h/s);
    assert.throws(() => plan('lcp', { HOME: '/h' }, { lcp: 'extends: default\nserver:\n  backend: llama-cpp-python\n  idle_sleep: 5m\n' }), /server\.idle_sleep: 5m, but llama-cpp-python cannot unload its model when idle/);
  });

  it('serves with llama-server natively: no llama-cpp-python on the host, slots with a full context each, the chat template mapped, the key only by environment', () => {
    const p = plan('default');
    assert.equal(p.server.backend, 'llama-server');
    assert.equal(p.server.parallel, 4);
    assert.deepEqual(p.python.serverModules, []);
    const ls = plan('ls', { HOME: '/h' }, { ls: 'extends: default\nmodel:\n  source: file:/m.gguf\n  alias: m\n  chat_format: llama-2\nserver:\n  api_key: generate\n  n_threads: 2\n' });
    const args = llamaServerArgs(ls, { modelPath: '/m.gguf' });
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    assert.equal(value('--parallel'), '4');
    assert.equal(value('--ctx-size'), String(2048 * 4));
    // Llama 2's built-in template takes no tools: ours with them, from the repository's templates/chat/.
    assert.equal(value('--chat-template-file'), '/repo/templates/chat/llama-2-tools.jinja');
    assert.ok(args.includes('--jinja'));
    assert.equal(value('--pooling'), 'mean');
    assert.ok(args.includes('--embeddings'));
    assert.ok(!args.some((a) => /api.?key/i.test(a)), 'no key flag on the command line');
    const named = (chatFormat: string) => ({ chatFormat, chatFormatFrom: 'profile' as const });
    assert.throws(() => chatTemplateArgs(named('no-such-format'), '/t'), /model\.chat_format "no-such-format" has no llama-server template/);
    assert.deepEqual(chatTemplateArgs({ chatFormatFrom: 'model' }, '/t'), ['--jinja']);
    assert.deepEqual(chatTemplateArgs(named('vicuna'), '/t'), ['--chat-template', 'vicuna']);
    assert.deepEqual(chatTemplateArgs(named('gemma'), '/t'), ['--jinja', '--chat-template-file', '/t/gemma-tools.jinja']);
    // Detected from the GGUF: our template where the family has one with tools, else the model's own.
    assert.deepEqual(chatTemplateArgs({ chatFormat: 'chatml', chatFormatFrom: 'detected' }, '/t'), ['--jinja', '--chat-template-file', '/t/chatml-tools.jinja']);
    assert.deepEqual(chatTemplateArgs({ chatFormat: 'vicuna', chatFormatFrom: 'detected' }, '/t'), ['--jinja']);
  });

  it('gives llama-server several models through its router: one preset section per alias, the guide names on the first', () => {
    const p = plan('r', { HOME: '/h' }, { r: 'extends: two-models\nserver:\n  backend: llama-server\n  api_key: generate\n' });
    const args = routerArgs(p, '/s/models.ini');
    assert.deepEqual(args.slice(0, 4), ['--models-preset', '/s/models.ini', '--models-max', '2']);
    assert.ok(!args.includes('--model') && !args.some((a) => /api.?key/i.test(a)));
    const preset = routerPreset(p);
    assert.match(preset, /^\[smollm2-135m-instruct\]\nmodel = .*SmolLM2-135M-Instruct\.Q4_1\.gguf\nalias = text-davinci-003,gpt-3\.5-turbo,text-embedding-ada-002\n/m);
    assert.match(preset, /^\[gemma3-270m\]\n(?:.*\n)*chat-template-file = \/repo\/templates\/chat\/gemma-tools\.jinja\n(?:.*\n)*load-on-startup = true$/m);
    assert.match(preset, /^embeddings = true$/m);
    // Refused when the plan is made (make plan says so), not when the server starts.
    const unmapped = () => plan('u', { HOME: '/h' }, { u: 'extends: two-models\nserver:\n  backend: llama-server\nextra_models:\n  - source: file:/x.gguf\n    alias: x\n    chat_format: no-such\n' });
    assert.throws(unmapped, /extra_models\[0\]\.chat_format "no-such" has no llama-server template/);
  });
});
