import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readGgufInfo } from '../../scripts/lib/model/gguf.ts';
import { tempDir } from '../helpers.ts';

/** A GGUF v3 header with the given metadata (strings and u32 values) and no tensors. */
function ggufFile(metadata: Record<string, string | number>): Buffer {
  const parts: Buffer[] = [Buffer.from('GGUF', 'latin1')];
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
  const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
  const str = (s: string) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([u64(b.length), b]); };
  parts.push(u32(3), u64(0), u64(Object.keys(metadata).length));
  for (const [key, value] of Object.entries(metadata)) {
    parts.push(str(key));
    if (typeof value === 'string') parts.push(u32(8), str(value));
    else parts.push(u32(4), u32(value));
  }
  return Buffer.concat(parts);
}

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
});
