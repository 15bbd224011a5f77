import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chooseGguf, ggufModels, hasQuant, hfEndpoint, resolveHfSource, resolveUrl } from '../../../../scripts/lib/model/transport/hf.ts';
import { tokenFor } from '../../../../scripts/lib/model/transport/https.ts';
import { parseModelSource } from '../../../../scripts/lib/model/transport/source.ts';
import { resolveModel } from '../../../../scripts/lib/profile/models.ts';

const lfs = (path: string, size = 1000) => ({ type: 'file', path, size: 134, lfs: { oid: 'a'.repeat(64), size } });
const hf = (text: string) => parseModelSource(text, undefined) as Extract<ReturnType<typeof parseModelSource>, { kind: 'hf' }>;

describe('hf: model sources', () => {
  it('parses a repo with a quantization, a file, a revision', () => {
    assert.deepEqual(parseModelSource('hf:bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M', undefined), { kind: 'hf', repo: 'bartowski/SmolLM2-135M-Instruct-GGUF', quant: 'Q4_K_M' });
    assert.deepEqual(parseModelSource('hf:mmnga/x-gguf@v1.0/sub/x-q4_K_M.gguf', undefined), { kind: 'hf', repo: 'mmnga/x-gguf', revision: 'v1.0', path: 'sub/x-q4_K_M.gguf' });
    assert.deepEqual(parseModelSource('hf:o/r', undefined), { kind: 'hf', repo: 'o/r' });
    for (const bad of ['hf:onlyrepo', 'hf:o/r:Q4 K', 'hf:o/r/../etc/passwd.gguf', 'hf:o/r/x.bin', 'hf:o/r@:Q4']) {
      assert.throws(() => parseModelSource(bad, undefined), /is not a Hugging Face model/, bad);
    }
  });

  it('finds a quantization as a word of the file name, whatever its case, and a split GGUF as one model of several parts', () => {
    assert.equal(hasQuant('ELYZA-japanese-Llama-2-7b-fast-instruct-q4_K_M.gguf', 'Q4_K_M'), true);
    assert.equal(hasQuant('SmolLM2.Q4_1.gguf', 'q4_1'), true);
    assert.equal(hasQuant('model-Q4_K_M-00001-of-00002.gguf', 'Q4_K_M'), true);
    assert.equal(hasQuant('model-IQ4_K_M.gguf', 'Q4_K_M'), false);
    assert.equal(hasQuant('model-Q4_K_M_L.gguf', 'Q4_K_M'), false);
    const models = ggufModels([lfs('m-Q8_0-00002-of-00002.gguf', 5), lfs('m-Q8_0-00001-of-00002.gguf', 7), lfs('m-Q4_K_M.gguf'), lfs('mmproj-m-f16.gguf'), { type: 'file', path: 'README.md', size: 3 }]);
    assert.deepEqual(models.map((m) => [m.name, m.parts.map((p) => p.path), m.size]), [
      ['m-Q4_K_M.gguf', ['m-Q4_K_M.gguf'], 1000],
      ['m-Q8_0', ['m-Q8_0-00001-of-00002.gguf', 'm-Q8_0-00002-of-00002.gguf'], 12],
    ]);
  });

  it('chooses the one GGUF a source names, and otherwise says which there are, with their sizes', () => {
    const tree = [lfs('m-Q4_K_M.gguf', 2e9), lfs('m-Q8_0.gguf', 4e9)];
    assert.deepEqual(chooseGguf(hf('hf:o/m:q4_k_m'), tree, 'hf:o/m:q4_k_m').map((p) => p.path), ['m-Q4_K_M.gguf']);
    assert.deepEqual(chooseGguf(hf('hf:o/m/m-Q8_0.gguf'), tree, 'hf:o/m/m-Q8_0.gguf').map((p) => p.path), ['m-Q8_0.gguf']);
    assert.throws(() => chooseGguf(hf('hf:o/m'), tree, 'hf:o/m'), (e: Error & { hint: string }) => /several GGUF models/.test(e.message) && /m-Q4_K_M\.gguf 2\.00 GB, m-Q8_0\.gguf 4\.00 GB/.test(e.hint));
    assert.throws(() => chooseGguf(hf('hf:o/m:Q2_K'), tree, 'hf:o/m:Q2_K'), (e: Error & { hint: string }) => /has no Q2_K GGUF/.test(e.message) && /hf:o\/m:<quant>/.test(e.hint));
    assert.deepEqual(chooseGguf(hf('hf:o/m'), [tree[0]!], 'hf:o/m').map((p) => p.path), ['m-Q4_K_M.gguf'], 'one GGUF needs no name');
  });

  it('sends HF_TOKEN to the HF_ENDPOINT the user set (its exact origin), never to another host', () => {
    const env = { HF_TOKEN: 't', HF_ENDPOINT: 'http://mirror.local:8080' };
    assert.equal(tokenFor(new URL('http://mirror.local:8080/api/models/o/r'), env), 't');
    assert.equal(tokenFor(new URL('http://mirror.local:9999/o/r'), env), undefined);
    assert.equal(tokenFor(new URL('http://cdn.mirror.local:8080/blob'), env), undefined);
    assert.equal(tokenFor(new URL('https://huggingface.co/api/models/o/r'), env), 't');
    assert.equal(hfEndpoint({ HF_ENDPOINT: 'https://hf-mirror.com/' }), 'https://hf-mirror.com');
    assert.throws(() => hfEndpoint({ HF_ENDPOINT: 'ftp://x' }), /HF_ENDPOINT=ftp:\/\/x is not an http\(s\) URL/);
    assert.equal(resolveUrl('https://huggingface.co', 'o/r', 'c'.repeat(40), 'sub dir/x.gguf'), `https://huggingface.co/o/r/resolve/${'c'.repeat(40)}/sub%20dir/x.gguf`);
  });

  it('plans a pinned model with the size, sha256 and commit from the lock, and a split one under the names llama.cpp finds its parts by', () => {
    const source = 'hf:o/m:Q8_0';
    const parts = [
      { path: 'm-Q8_0-00001-of-00002.gguf', size: 3 * 1024 * 1024, sha256: 'a'.repeat(64) },
      { path: 'm-Q8_0-00002-of-00002.gguf', size: 2 * 1024 * 1024, sha256: 'b'.repeat(64) },
    ];
    const profileModel = { source, alias: 'm', n_ctx: 2048, pooling: 'mean' as const };
    const unpinned = resolveModel(profileModel, '/models', {});
    assert.equal(unpinned.fileName, 'm-Q8_0.gguf');
    assert.equal(unpinned.resolved, undefined);
    const { id } = unpinned;
    const pinned = resolveModel(profileModel, '/models', { [id]: { source, sha256: 'a'.repeat(64), revision: 'c'.repeat(40), parts } });
    assert.equal(pinned.path, `/models/${id}/m-Q8_0-00001-of-00002.gguf`);
    assert.equal(pinned.sha256, 'a'.repeat(64));
    assert.equal(pinned.sizeMb, 5);
    assert.deepEqual(pinned.resolved?.parts.map((p) => p.fileName), ['m-Q8_0-00001-of-00002.gguf', 'm-Q8_0-00002-of-00002.gguf']);
    const edited = resolveModel({ ...profileModel, source: 'hf:o/m:Q4_0' }, '/models', { [id]: { source, sha256: 'a'.repeat(64), revision: 'c'.repeat(40), parts } });
    assert.equal(edited.resolved, undefined, 'a lock entry of another source text says nothing');
  });

  it('says a mirror that answers no file list is not a Hub, instead of a TypeError', async () => {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url!.includes('/tree/') ? { error: 'not here' } : { sha: 'c'.repeat(40) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await assert.rejects(resolveHfSource(hf('hf:o/m:Q4_0'), 'hf:o/m:Q4_0', { HF_ENDPOINT: endpoint }), (e: Error & { hint: string }) => /gave no file list for o\/m/.test(e.message) && /HF_ENDPOINT must be a Hugging Face Hub/.test(e.hint));
    } finally {
      server.close();
    }
  });
});
