import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { downloadRetries, tokenFor } from '../../../../scripts/lib/model/transport/https.ts';
import { WorkbenchError } from '../../../../scripts/lib/errors.ts';

describe('the https transport', () => {
  const env = { HF_TOKEN: 'hf_secret' };

  it('sends HF_TOKEN to huggingface.co over https', () => {
    assert.equal(tokenFor(new URL('https://huggingface.co/mmnga/x/resolve/main/m.gguf'), env), 'hf_secret');
    assert.equal(tokenFor(new URL('https://hf.co/x'), env), 'hf_secret');
  });

  it('never sends HF_TOKEN to a host that only ends like huggingface.co, to its CDN, or over plain http', () => {
    assert.equal(tokenFor(new URL('https://evil-huggingface.co/m.gguf'), env), undefined);
    assert.equal(tokenFor(new URL('https://huggingface.co.evil.example/m.gguf'), env), undefined);
    assert.equal(tokenFor(new URL('https://cdn-lfs.huggingface.co/m.gguf'), env), undefined);
    assert.equal(tokenFor(new URL('http://huggingface.co/m.gguf'), env), undefined);
    assert.equal(tokenFor(new URL('https://huggingface.co/m.gguf'), {}), undefined);
  });

  it('bounds its retries, and says how to set them when the setting is wrong', () => {
    assert.deepEqual(downloadRetries({}), { attempts: 5, backoffMs: 2000 });
    assert.throws(() => downloadRetries({ LLM_WORKBENCH_DOWNLOAD_ATTEMPTS: 'many' }), WorkbenchError);
  });
});
