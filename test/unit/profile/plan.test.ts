import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadProfile } from '../../../scripts/lib/profile/load.ts';
import { resolvePlan, type PlanContext } from '../../../scripts/lib/profile/plan.ts';
import { configFacts, describeChanges, factsFingerprint } from '../../../scripts/lib/fingerprint.ts';
import { nativeServerFacts, type NativeServerInputs } from '../../../scripts/lib/runtime/native.ts';
import { chatTemplateArgs, llamaServerArgs, routerArgs, routerPreset } from '../../../scripts/lib/backend/llama-server/args.ts';
import { serverArgs, serverConfig } from '../../../scripts/lib/backend/llama-cpp-python/args.ts';
import { modelId } from '../../../scripts/lib/model/transport/source.ts';
import { patchKeepAlive } from '../../../scripts/lib/llama-cpp/keep-alive-patch.ts';
import { profilesWith, REPO_ROOT } from '../../helpers.ts';

function plan(name: string, env: PlanContext['env'] = { HOME: '/home/u' }, files: Record<string, string> = {}) {
  const dir = Object.keys(files).length ? profilesWith(files) : join(REPO_ROOT, 'env');
  return resolvePlan(loadProfile(name, dir), { repoRoot: '/repo', env, arch: 'x86_64' });
}

describe('resolving a profile into a plan', () => {
  it('puts state, cache and data under the XDG folders, and honours the LLM_WORKBENCH_* overrides', () => {
    const p = plan('default');
    assert.equal(p.paths.stateDir, '/home/u/.local/state/llm-workbench/default');
    assert.equal(p.paths.cacheDir, '/home/u/.cache/llm-workbench');
    assert.equal(p.python.venvDir, '/home/u/.local/share/llm-workbench/envs/llm-workbench');
    assert.equal(p.paths.bashrc, '/home/u/.bashrc');
    const custom = plan('default', { HOME: '/home/u', XDG_CACHE_HOME: '/xdg/cache', LLM_WORKBENCH_STATE_DIR: '/s', BASHRC: '/tmp/rc' });
    assert.equal(custom.paths.cacheDir, '/xdg/cache/llm-workbench');
    assert.equal(custom.paths.stateDir, '/s/default');
    assert.equal(custom.paths.bashrc, '/tmp/rc');
  });

  it('keeps the model in the cache under a folder named by its source, and a file: model where it is', () => {
    const p = plan('default');
    assert.match(p.model.path, /^\/home\/u\/\.cache\/llm-workbench\/models\/[0-9a-f]{16}\/SmolLM2-135M-Instruct\.Q4_1\.gguf$/);
    const local = plan('local', { HOME: '/home/u' }, { local: 'extends: default\nmodel:\n  source: file:/data/m.gguf\n  alias: m\n' });
    assert.equal(local.model.path, '/data/m.gguf');
  });

  it('uses a sha256 recorded in the lock file when the profile has none', () => {
    const loaded = loadProfile('elyza-7b', join(REPO_ROOT, 'env'));
    const id = modelId(loaded.profile.model.source, loaded.profile.model.file);
    const p = resolvePlan(loaded, { repoRoot: '/repo', env: { HOME: '/h' }, arch: 'x86_64', lockedModels: { [id]: { source: loaded.profile.model.source, sha256: 'b'.repeat(64) }, other: { source: 'x', sha256: 'c'.repeat(64) } } });
    assert.equal(p.model.sha256, 'b'.repeat(64));
    assert.equal(p.model.sha256Origin, 'lock');
  });

  it('compiles nothing on the host for a container profile: the image serves, the host env has no llama-cpp-python', () => {
    const p = plan('elyza-7b');
    assert.equal(p.llamaCpp.cmakeArgs, '-DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS -DLLAVA_BUILD=OFF');
    assert.equal(p.runtimeTraits.buildsOnHost, false);
    assert.equal(p.python.builtHere, undefined);
    assert.ok(!p.python.pipPackages.some((pkg) => pkg.startsWith('llama-cpp-python')), p.python.pipPackages.join(' '));
    const native = plan('llama-cpp-python');
    assert.equal(native.runtimeTraits.buildsOnHost, true);
    assert.deepEqual(native.python.serverModules, ['llama_cpp', 'llama_cpp.server']);
    assert.equal(native.python.builtHere?.requirement, 'llama-cpp-python==0.3.36');
  });

  it('serves the embedded default with llama-server: no llama-cpp-python and no Python in the serving path, the guide\'s profile keeps llama_cpp.server', () => {
    const p = plan('default');
    assert.equal(p.server.backend, 'llama-server');
    assert.equal(p.python.builtHere, undefined);
    assert.deepEqual(p.python.pipPackages, ['openai>=1.13', 'jupyterlab>=4']);
    assert.match(p.server.command.argv[0]!, /\/llama-server\/llama\.cpp-0\.3\.36-[0-9a-f]{12}\/llama-server$/);
    assert.equal(plan('elyza-7b').server.backend, 'llama-cpp-python');
  });

  it('holds the server command once: the native runtime\'s under the env\'s python, the image\'s for render', () => {
    const p = resolvePlan(loadProfile('llama-cpp-python', join(REPO_ROOT, 'env')), { repoRoot: '/repo', env: { HOME: '/h' }, arch: 'x86_64', cpuCount: 2, pythonInterpreter: '/opt/conda/envs/x/bin/python' });
    assert.deepEqual(p.server.command.argv.slice(0, 2), ['/opt/conda/envs/x/bin/python', '/repo/scripts/python/serve.py']);
    assert.equal(p.python.interpreter, '/opt/conda/envs/x/bin/python');
    assert.deepEqual(p.container.command.slice(0, 2), ['python', '/opt/llm-workbench/serve.py']);
    assert.ok(p.container.command.includes('/models/SmolLM2-135M-Instruct.Q4_1.gguf'));
    const container = plan('c', { HOME: '/h' }, { c: 'extends: default\nruntime: container\n' });
    // A container profile runs the image's program on the image's model path, with no files of the host's.
    assert.equal(container.server.command.argv[0], '/usr/local/bin/llama-server');
    assert.equal(container.server.command.argv[container.server.command.argv.indexOf('--model') + 1], '/models/SmolLM2-135M-Instruct.Q4_1.gguf');
    assert.deepEqual(container.server.command.files, []);
    assert.equal(container.container.command[0], '/usr/local/bin/llama-server');
    const two = plan('two-models');
    assert.deepEqual(two.container.command, [], 'several models have no image');
    assert.deepEqual(two.server.command.files.map((f) => f.path), ['/home/u/.local/state/llm-workbench/two-models/models.ini']);
  });

  it('starts the server with embeddings on, pooled, on the profile\'s host and port, raw flags last', () => {
    const p = plan('flags', { HOME: '/h' }, { flags: 'extends: default\nserver:\n  n_threads: 2\n  extra_args: ["--n_batch", "256"]\n' });
    const args = serverArgs(p, { modelPath: '/m.gguf', bindHost: true });
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    assert.equal(value('--embedding'), 'true');
    assert.equal(value('--pooling'), 'mean');
    assert.equal(value('--host'), '127.0.0.1');
    assert.equal(value('--port'), '8080');
    assert.equal(value('--n_threads'), '2');
    assert.deepEqual(args.slice(-2), ['--n_batch', '256']);
    assert.ok(!serverArgs(p, { modelPath: '/m.gguf', bindHost: false }).includes('--host'), 'in a container HOST comes from the image');
  });

  it('keeps a generated API key in a file in the state folder, never in the argv', () => {
    const p = plan('keyed', { HOME: '/h' }, { keyed: 'extends: default\nserver:\n  host: 0.0.0.0\n  api_key: generate\n' });
    assert.deepEqual(p.server.apiKey, { kind: 'generate', file: '/h/.local/state/llm-workbench/keyed/api-key' });
    assert.equal(p.server.baseUrl, 'http://127.0.0.1:8080/v1');
    assert.ok(!p.server.command.argv.some((a) => a.includes('api')));
    assert.ok(!serverArgs(p, { modelPath: '/m', bindHost: true }).some((a) => a.includes('api')));
  });

  it('accepts a public bind without a key only when the profile opts out explicitly', () => {
    assert.throws(() => plan('open', { HOME: '/h' }, { open: 'extends: default\nserver:\n  host: 0.0.0.0\n' }), /without an API key/);
    const p = plan('open', { HOME: '/h' }, { open: 'extends: default\nserver:\n  host: 0.0.0.0\n  allow_unauthenticated: true\n' });
    assert.equal(p.server.host, '0.0.0.0');
  });

  it('serves /metrics on loopback or behind a key, never open to the network, and only where the backend has it', () => {
    const argv = (p: ReturnType<typeof plan>) => llamaServerArgs(p, { modelPath: '/m.gguf' });
    const local = plan('m', { HOME: '/h' }, { m: 'extends: default\n' });
    assert.equal(local.server.metrics, true);
    assert.ok(argv(local).includes('--metrics'));
    const open = plan('m', { HOME: '/h' }, { m: 'extends: default\nserver:\n  host: 0.0.0.0\n  allow_unauthenticated: true\n' });
    assert.equal(open.server.metrics, false, 'auto leaves it off on an open bind without a key');
    assert.ok(!argv(open).includes('--metrics'));
    assert.equal(plan('m', { HOME: '/h' }, { m: 'extends: default\nserver:\n  host: 0.0.0.0\n  api_key: generate\n' }).server.metrics, true);
    assert.equal(plan('m', { HOME: '/h' }, { m: 'extends: default\nserver:\n  metrics: false\n' }).server.metrics, false);
    assert.throws(
      () => plan('m', { HOME: '/h' }, { m: 'extends: default\nserver:\n  host: 0.0.0.0\n  allow_unauthenticated: true\n  metrics: true\n' }),
      /server\.metrics: true on 0\.0\.0\.0 would publish the server's metrics to the network without an API key/,
    );
    assert.throws(() => plan('m', { HOME: '/h' }, { m: 'extends: default\nserver:\n  backend: llama-cpp-python\n  metrics: true\n' }), /llama-cpp-python has no \/metrics/);
    assert.equal(plan('m', { HOME: '/h' }, { m: 'extends: default\nserver:\n  backend: llama-cpp-python\n' }).server.metrics, false);
  });

  it('brackets an IPv6 host in the URLs clients and ~/.bashrc get', () => {
    const p = plan('v6', { HOME: '/h' }, { v6: 'extends: default\nserver:\n  host: "::1"\njupyter:\n  host: "::1"\n' });
    assert.equal(p.server.baseUrl, 'http://[::1]:8080/v1');
    assert.equal(p.jupyter.url, 'http://[::1]:18888/lab');
    assert.equal(plan('any6', { HOME: '/h' }, { any6: 'extends: default\nserver:\n  host: "::"\n  api_key: generate\n' }).server.baseUrl, 'http://[::1]:8080/v1');
  });

  it('restarts the native server when anything that changes what runs changes: version, build flags, env, launcher, model bytes', () => {
    const repoPlan = (name: string, files: Record<string, string> = {}) =>
      resolvePlan(loadProfile(name, Object.keys(files).length ? profilesWith(files) : join(REPO_ROOT, 'env')), { repoRoot: REPO_ROOT, env: { HOME: '/home/u' }, arch: 'x86_64' });
    const base = repoPlan('llama-cpp-python');
    const facts: NativeServerInputs = { argv: ['python', 'serve.py', '--n_ctx', '2048'], env: { HOST: '127.0.0.1', API_KEY: 'k1', PATH: '/usr/bin' }, apiKey: 'k1', pythonEnv: 'e1', modelSha256: 'a'.repeat(64) };
    const nativeServerFingerprint = (p: typeof base, inputs: NativeServerInputs) => factsFingerprint(nativeServerFacts(p, inputs));
    const print = nativeServerFingerprint(base, facts);
    assert.equal(nativeServerFingerprint(repoPlan('llama-cpp-python'), { ...facts }), print, 'the same facts give the same fingerprint');
    const older = repoPlan('older', { older: 'extends: llama-cpp-python\nllama_cpp:\n  version: 0.3.35\n' });
    const blas = repoPlan('blas', { blas: 'extends: llama-cpp-python\nllama_cpp:\n  blas: openblas\n' });
    assert.match(nativeServerFacts(base, facts)['launcher sha256']!, /^[0-9a-f]{16}$/, 'the launcher\'s code is a fact');
    const changes = [
      nativeServerFingerprint(older, facts),
      nativeServerFingerprint(blas, facts),
      nativeServerFingerprint(base, { ...facts, pythonEnv: 'e2' }),
      nativeServerFingerprint(base, { ...facts, argv: ['python', 'serve.py', '--n_ctx', '1024'] }),
      nativeServerFingerprint(base, { ...facts, modelSha256: 'b'.repeat(64) }),
      nativeServerFingerprint(base, { ...facts, apiKey: 'k2', env: { ...facts.env, API_KEY: 'k2' } }),
      nativeServerFingerprint(base, { ...facts, env: { ...facts.env, HOST: '::1' } }),
    ];
    for (const [i, changed] of changes.entries()) assert.notEqual(changed, print, `change ${i} kept the fingerprint`);
    assert.equal(nativeServerFingerprint(base, { ...facts, env: { ...facts.env, PATH: '/opt/conda/bin:/usr/bin' } }), print, 'another shell\'s PATH is no change');
    assert.ok(!JSON.stringify(nativeServerFacts(base, facts)).includes('k1'), 'the key appears only as a digest');
  });

  it('names what changed between two sets of facts, secrets shortened', () => {
    assert.equal(describeChanges({ '--n_ctx': '2048', 'llama_cpp.version': '0.3.36' }, { '--n_ctx': '1024', 'llama_cpp.version': '0.3.36' }), '--n_ctx 2048 -> 1024');
    assert.equal(describeChanges({ a: '1' }, { a: '1', b: '2' }), 'b (none) -> 2');
    assert.equal(describeChanges(undefined, { a: '1' }), 'configuration of an earlier version');
    assert.match(describeChanges({ k: 'x'.repeat(64) }, { k: 'y'.repeat(64) }), /^k x{12}\.\.\.x{8} -> y{12}\.\.\.y{8}$/);
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

  it('serves llama-server from a container without Python: no python3 in the running image, the key as LLAMA_API_KEY', () => {
    const p = plan('lsc', { HOME: '/h' }, { lsc: 'extends: default\nruntime: container\ncontainer:\n  base: localhost/debian:bookworm\n' });
    assert.equal(p.server.apiKeyEnv, 'LLAMA_API_KEY');
    assert.ok(!p.container.runtimeAptPackages.some((pkg) => pkg.startsWith('python')));
    assert.ok(p.container.buildAptPackages.includes('cmake'));
    assert.equal(p.runtimeTraits.buildsOnHost, false);
  });

  it('means every core for the prompt, and for decode every core but one with llama_cpp.server and every core with llama-server, by n_threads: auto', () => {
    const p = resolvePlan(loadProfile('llama-cpp-python', join(REPO_ROOT, 'env')), { repoRoot: '/r', env: { HOME: '/h' }, arch: 'x86_64', cpuCount: 8 });
    const args = serverArgs(p, { modelPath: '/m.gguf', bindHost: true });
    assert.equal(args[args.indexOf('--n_threads') + 1], '7');
    assert.equal(args[args.indexOf('--n_threads_batch') + 1], '8');
    const two = resolvePlan(loadProfile('llama-cpp-python', join(REPO_ROOT, 'env')), { repoRoot: '/r', env: { HOME: '/h' }, arch: 'x86_64', cpuCount: 2 });
    assert.deepEqual([two.server.nThreads, two.server.nThreadsBatch], [1, 2]);
    const server = resolvePlan(loadProfile('default', join(REPO_ROOT, 'env')), { repoRoot: '/r', env: { HOME: '/h' }, arch: 'x86_64', cpuCount: 2 });
    assert.deepEqual([server.server.nThreads, server.server.nThreadsBatch], [2, 2], 'llama-server decodes fastest on every core');
  });

  it('serves several models from one profile: each resolved and cached, the first is the one the notebook uses', () => {
    const p = plan('two-models');
    assert.deepEqual(p.models.map((m) => m.alias), ['smollm2-135m-instruct', 'gemma3-270m']);
    // The profile's `model` is the one the notebook and single-model checks use, whatever extra_models lists.
    assert.equal(p.model.alias, 'smollm2-135m-instruct');
    assert.equal(p.model.fileName, 'SmolLM2-135M-Instruct.Q4_1.gguf');
    assert.match(p.models[1]!.path, /\/models\/[0-9a-f]{16}\/gemma-3-270m-q4_k_m\.gguf$/);
    assert.equal(p.models[1]!.chatFormat, 'gemma');
  });

  it('gives llama_cpp.server several models through a config file with each pooling and no key', () => {
    const config = serverConfig(plan('k', { HOME: '/h' }, { k: 'extends: two-models\nserver:\n  backend: llama-cpp-python\n  api_key: generate\n  port: 8123\n' })) as { models: Record<string, unknown>[]; port: number };
    assert.equal(config.port, 8123, "the profile's port, not the default");
    assert.deepEqual(config.models.map((m) => [m.model_alias, m.pooling, m.embedding, m.chat_format]), [['smollm2-135m-instruct', 'mean', true, 'chatml'], ['gemma3-270m', 'mean', true, 'gemma']]);
    assert.ok(!JSON.stringify(config).match(/api.?key/i), 'no key in the config file');
    assert.equal(configFacts(config)['models[1].model_alias'], 'gemma3-270m');
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

  it('refuses two models with one alias, extra_models in a container, and raw flags llama_cpp.server could not apply', () => {
    const extra = 'extra_models:\n  - source: file:/x.gguf\n    alias: ';
    assert.throws(() => plan('d', { HOME: '/h' }, { d: `extends: default\n${extra}smollm2-135m-instruct\n` }), /two models are called "smollm2-135m-instruct"/);
    assert.throws(() => plan('c', { HOME: '/h' }, { c: `extends: default\nruntime: container\n${extra}x\n` }), /extra_models are served by the native runtime only/);
    assert.throws(() => plan('a', { HOME: '/h' }, { a: `extends: default\nserver:\n  backend: llama-cpp-python\n  extra_args: ["--verbose", "true"]\n${extra}x\n` }), /server\.extra_args cannot go with extra_models on llama-cpp-python/);
  });
});

describe('the keep-alive fix to llama-server', () => {
  const provider = `        const chunked_content_provider = [response = r_ptr](size_t, httplib::DataSink & sink) -> bool {
            std::string chunk;
            const bool has_next = response->next(chunk);
            if (!has_next) {
                sink.done();
            }
            return has_next;
        };
    other: return has_next;
`;

  it('makes the stream provider return true after done(), once, and leaves a patched or unrelated source alone', () => {
    const patched = patchKeepAlive(provider)!;
    assert.match(patched, /sink\.done\(\);\n {12}\}\n {12}return true; \/\/ llm-workbench/);
    assert.match(patched, /other: return has_next;/, 'only the provider after done() changes');
    assert.equal(patchKeepAlive(patched), patched);
    assert.equal(patchKeepAlive('int main() { return 0; }'), undefined);
  });
});

describe('a CPU with AMX', () => {
  const at = (cpuFlags: string[], backend = 'llama-cpp-python', reproducible = true) =>
    resolvePlan(loadProfile('b', profilesWith({ b: `extends: default\nserver:\n  backend: ${backend}\n  reproducible: ${reproducible}\n` })), { repoRoot: '/r', env: { HOME: '/h' }, arch: 'x86_64', cpuCount: 2, cpuFlags });

  it('keeps weights out of llama.cpp\'s extra buffers on both backends (the AMX path segfaults: ggml-org/llama.cpp#20824)', () => {
    const amx = at(['avx512f', 'amx_tile', 'amx_int8']);
    assert.equal(amx.server.weightRepack, false);
    assert.ok(serverArgs(amx, { modelPath: '/m.gguf', bindHost: true }).includes('--no_extra_buffers'));
    const server = at(['amx_int8'], 'llama-server');
    assert.ok(llamaServerArgs(server, { modelPath: '/m.gguf' }).includes('--no-repack'));
  });

  it('leaves repacking on where the CPU has no AMX and answers need not be reproducible', () => {
    const plain = at(['avx2', 'fma'], 'llama-cpp-python', false);
    assert.equal(plain.server.weightRepack, true);
    assert.ok(!serverArgs(plain, { modelPath: '/m.gguf', bindHost: true }).includes('--no_extra_buffers'));
    assert.ok(!llamaServerArgs(at(['avx2'], 'llama-server', false), { modelPath: '/m.gguf' }).includes('--no-repack'));
  });
});

describe('server.reproducible', () => {
  const at = (backend: string, reproducible?: boolean) =>
    resolvePlan(loadProfile('b', profilesWith({ b: `extends: default\nserver:\n  backend: ${backend}\n${reproducible === undefined ? '' : `  reproducible: ${reproducible}\n`}` })), { repoRoot: '/r', env: { HOME: '/h' }, arch: 'x86_64', cpuCount: 2, cpuFlags: ['avx2'] });

  it('is on unless the profile says otherwise (the guide: the same answer every time)', () => {
    assert.equal(at('llama-server').server.reproducible, true);
    assert.equal(at('llama-server', false).server.reproducible, false);
  });

  it('turns flash attention on, repacking off, and sets the engine variable on both backends', () => {
    const server = at('llama-server');
    const argv = llamaServerArgs(server, { modelPath: '/m.gguf' });
    assert.deepEqual(argv.slice(argv.indexOf('--flash-attn'), argv.indexOf('--flash-attn') + 2), ['--flash-attn', 'on']);
    assert.ok(argv.includes('--no-repack'));
    assert.deepEqual(server.server.engineEnv, { LLM_WORKBENCH_BATCH_INVARIANT: '1' });
    const python = at('llama-cpp-python');
    const pyArgv = serverArgs(python, { modelPath: '/m.gguf', bindHost: true });
    assert.deepEqual(pyArgv.slice(pyArgv.indexOf('--flash_attn'), pyArgv.indexOf('--flash_attn') + 2), ['--flash_attn', 'true']);
    assert.ok(pyArgv.includes('--no_extra_buffers'));
  });

  it('off: llama.cpp chooses its kernels (no flag, no variable)', () => {
    const server = at('llama-server', false);
    assert.ok(!llamaServerArgs(server, { modelPath: '/m.gguf' }).includes('--flash-attn'));
    assert.deepEqual(server.server.engineEnv, {});
    assert.ok(!serverArgs(at('llama-cpp-python', false), { modelPath: '/m.gguf', bindHost: true }).includes('--flash_attn'));
  });
});
