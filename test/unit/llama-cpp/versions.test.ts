import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blasCmakeArgs, checkLlamaCppVersion, cmakeArgs, compareVersions } from '../../../scripts/lib/llama-cpp/versions.ts';

describe('llama-cpp-python versions', () => {
  it('refuses 0.2.56 and names the embeddings crash and the versions that work', () => {
    const problem = checkLlamaCppVersion('0.2.56');
    assert.match(problem ?? '', /crashes the server on \/v1\/embeddings/);
    assert.match(problem ?? '', /#1269/);
    assert.match(problem ?? '', /0\.2\.55/);
    assert.match(problem ?? '', /0\.2\.57/);
  });

  it('accepts the guide pin 0.2.55 and current releases', () => {
    assert.equal(checkLlamaCppVersion('0.2.55'), undefined);
    assert.equal(checkLlamaCppVersion('0.2.57'), undefined);
    assert.equal(checkLlamaCppVersion('0.3.36'), undefined);
  });

  it('refuses releases older than the oldest one we can serve', () => {
    assert.match(checkLlamaCppVersion('0.1.85') ?? '', /older than 0\.2\.55/);
  });

  it('spells the BLAS flags LLAMA_* before 0.2.85 and GGML_* from 0.2.85 on', () => {
    assert.equal(blasCmakeArgs('0.2.55', 'openblas'), '-DLLAMA_BLAS=ON -DLLAMA_BLAS_VENDOR=OpenBLAS');
    assert.equal(blasCmakeArgs('0.2.84', 'openblas'), '-DLLAMA_BLAS=ON -DLLAMA_BLAS_VENDOR=OpenBLAS');
    assert.equal(blasCmakeArgs('0.2.85', 'openblas'), '-DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS');
    assert.equal(blasCmakeArgs('0.3.36', 'openblas'), '-DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS');
    assert.equal(blasCmakeArgs('0.3.36', 'none'), '');
  });

  it('always leaves the multimodal library out of the build', () => {
    assert.equal(cmakeArgs('0.3.36', 'none'), '-DLLAVA_BUILD=OFF');
    assert.equal(cmakeArgs('0.3.36', 'openblas'), '-DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS -DLLAVA_BUILD=OFF');
  });

  it('compares versions numerically, not as text', () => {
    assert.ok(compareVersions('0.2.9', '0.2.10') < 0);
    assert.ok(compareVersions('0.3.0', '0.2.90') > 0);
    assert.equal(compareVersions('1.2.3', '1.2.3'), 0);
  });
});
