import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { factsFingerprint } from '../../../scripts/lib/fingerprint.ts';
import { loadProfile } from '../../../scripts/lib/profile/load.ts';
import { resolvePlan } from '../../../scripts/lib/profile/plan.ts';
import { nativeServerFacts, type NativeServerInputs } from '../../../scripts/lib/runtime/native.ts';
import { profilesWith, REPO_ROOT } from '../../helpers.ts';

describe('the native runtime', () => {
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
});
