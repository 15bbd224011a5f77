import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { checkModelFile, readGgufInfo } from '../../../scripts/lib/model/gguf.ts';
import { ggufFile } from '../../fixtures/gguf.ts';
import { tempDir } from '../../helpers.ts';

describe('the GGUF header reader', () => {
  it('reads the architecture and its embedding length from a local file', async () => {
    const file = join(tempDir(), 'tiny.gguf');
    writeFileSync(file, ggufFile({ 'general.architecture': 'llama', 'general.name': 'tiny', 'llama.embedding_length': 576 }));
    assert.deepEqual(await readGgufInfo(file), { architecture: 'llama', embeddingLength: 576 });
  });

  it('refuses a file that is not GGUF', async () => {
    const file = join(tempDir(), 'text.gguf');
    writeFileSync(file, 'this is a text file, not a GGUF model\n');
    await assert.rejects(readGgufInfo(file), /not a valid gguf file/);
  });

  it('takes a model whose file holds every tensor its header announces', async () => {
    const file = join(tempDir(), 'ok.gguf');
    writeFileSync(file, ggufFile({ 'general.architecture': 'llama' }, [1024, 64]));
    assert.deepEqual(await checkModelFile(file, 'model.source file:x'), { version: 3, tensorCount: 2, architecture: 'llama' });
  });

  it('refuses random bytes, naming the file and that it is not GGUF', async () => {
    const file = join(tempDir(), 'random.gguf');
    writeFileSync(file, randomBytes(4096));
    await assert.rejects(checkModelFile(file, 'model.source file:x'), /random\.gguf \(model\.source file:x\) is not a usable model: it does not start with the GGUF magic bytes/);
  });

  it('refuses a GGUF header without tensors', async () => {
    const file = join(tempDir(), 'empty.gguf');
    writeFileSync(file, ggufFile({ 'general.architecture': 'llama' }));
    await assert.rejects(checkModelFile(file, 'model.source'), /its header lists no tensors/);
  });

  it('refuses a GGUF cut short of its tensors', async () => {
    const file = join(tempDir(), 'cut.gguf');
    writeFileSync(file, ggufFile({ 'general.architecture': 'llama' }, [1024, 1024], 4096));
    await assert.rejects(checkModelFile(file, 'model.source'), /cut\.gguf .* it is \d+ bytes long, but its tensors need \d+ \(cut short\)/);
  });
});
