import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadProfile } from '../../../scripts/lib/profile/load.ts';
import { resolvePlan } from '../../../scripts/lib/profile/plan.ts';
import { llamaServerArgs } from '../../../scripts/lib/backend/llama-server/args.ts';
import { serverArgs } from '../../../scripts/lib/backend/llama-cpp-python/args.ts';
import { modelId } from '../../../scripts/lib/model/transport/source.ts';
import { planOf, profilesWith, REPO_ROOT } from '../../helpers.ts';

const plan = planOf;

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

  it('splits the cores evenly with the servers of other profiles already serving, asked with its own state folder, and says with whom', () => {
    const other = { profile: 'hf', url: 'http://127.0.0.1:8081/v1', startedAt: '2026-12-06T10:00:00.000Z' };
    const asked: string[] = [];
    const sharing = (cpuCount: number, sharers: (typeof other)[], name = 'default') =>
      resolvePlan(loadProfile(name, join(REPO_ROOT, 'env')), { repoRoot: '/r', env: { HOME: '/h' }, arch: 'x86_64', cpuCount, coreSharers: (stateDir) => (asked.push(stateDir), sharers) }).server;
    const two = sharing(2, [other]);
    assert.deepEqual([two.nThreads, two.nThreadsBatch], [1, 1]);
    assert.deepEqual(two.coresShared, { cores: 1, of: 2, with: [other] });
    assert.equal(asked[0], '/h/.local/state/llm-workbench/default');
    const eight = sharing(8, [other, { ...other, profile: 'x' }]);
    assert.deepEqual([eight.nThreads, eight.nThreadsBatch], [2, 2], 'a third of 8 cores, rounded down');
    assert.deepEqual([sharing(2, [other, other, other]).nThreads], [1], 'never fewer than one thread');
    const python = sharing(8, [other], 'llama-cpp-python');
    assert.deepEqual([python.nThreads, python.nThreadsBatch], [3, 4], "llama_cpp.server's own rule on its share: every core of it but one");
    const alone = sharing(2, []);
    assert.equal(alone.coresShared, undefined);
    assert.deepEqual([alone.nThreads, alone.nThreadsBatch], [2, 2]);
  });

  it('keeps n_threads the profile names, whoever else serves', () => {
    const p = resolvePlan(loadProfile('fixed', profilesWith({ fixed: 'extends: default\nserver:\n  n_threads: 2\n' })), {
      repoRoot: '/r', env: { HOME: '/h' }, arch: 'x86_64', cpuCount: 2,
      coreSharers: () => [{ profile: 'hf', url: 'http://127.0.0.1:8081/v1', startedAt: '2026-12-06T10:00:00.000Z' }],
    });
    assert.deepEqual([p.server.nThreads, p.server.nThreadsBatch, p.server.coresShared], [2, 2, undefined]);
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

  it('refuses two models with one alias, extra_models in a container, and raw flags llama_cpp.server could not apply', () => {
    const extra = 'extra_models:\n  - source: file:/x.gguf\n    alias: ';
    assert.throws(() => plan('d', { HOME: '/h' }, { d: `extends: default\n${extra}smollm2-135m-instruct\n` }), /two models are called "smollm2-135m-instruct"/);
    assert.throws(() => plan('c', { HOME: '/h' }, { c: `extends: default\nruntime: container\n${extra}x\n` }), /extra_models are served by the native runtime only/);
    assert.throws(() => plan('a', { HOME: '/h' }, { a: `extends: default\nserver:\n  backend: llama-cpp-python\n  extra_args: ["--verbose", "true"]\n${extra}x\n` }), /server\.extra_args cannot go with extra_models on llama-cpp-python/);
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
    assert.deepEqual(server.server.engineEnv, { LLM_WORKBENCH_BATCH_INVARIANT: '1', LLM_WORKBENCH_PROMPTS_ONE_AT_A_TIME: '1' });
    const python = at('llama-cpp-python');
    const pyArgv = serverArgs(python, { modelPath: '/m.gguf', bindHost: true });
    assert.deepEqual(pyArgv.slice(pyArgv.indexOf('--flash_attn'), pyArgv.indexOf('--flash_attn') + 2), ['--flash_attn', 'true']);
    assert.ok(pyArgv.includes('--no_extra_buffers'));
    // llama_cpp.server has one slot: no two prompts wait together, so no prompt-order variable.
    assert.equal(python.server.parallel, 1);
    assert.equal(python.server.promptsOneAtATime, false);
    assert.deepEqual(python.server.engineEnv, { LLM_WORKBENCH_BATCH_INVARIANT: '1' });
  });

  it('off: llama.cpp chooses its kernels (no flag, no batch-invariant variable; prompts still one to a batch on the CPU)', () => {
    const server = at('llama-server', false);
    assert.ok(!llamaServerArgs(server, { modelPath: '/m.gguf' }).includes('--flash-attn'));
    assert.deepEqual(server.server.engineEnv, { LLM_WORKBENCH_PROMPTS_ONE_AT_A_TIME: '1' });
    assert.ok(!serverArgs(at('llama-cpp-python', false), { modelPath: '/m.gguf', bindHost: true }).includes('--flash_attn'));
  });
});
