/**
 * Reads the metadata header of a GGUF file (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
 * enough to know the architecture and the embedding length the embeddings check expects.
 */
import { closeSync, openSync, readSync } from 'node:fs';

type Value = string | number | bigint | boolean | Value[];

const SCALAR_SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const STRING = 8;
const ARRAY = 9;

class Reader {
  private buffer = Buffer.alloc(0);
  private offset = 0;
  private filePosition = 0;

  constructor(private readonly fd: number) {}

  private need(bytes: number): void {
    if (this.buffer.length - this.offset >= bytes) return;
    const rest = this.buffer.subarray(this.offset);
    const chunk = Buffer.alloc(Math.max(bytes, 1 << 20));
    const read = readSync(this.fd, chunk, 0, chunk.length, this.filePosition);
    this.filePosition += read;
    this.buffer = Buffer.concat([rest, chunk.subarray(0, read)]);
    this.offset = 0;
    if (this.buffer.length < bytes) throw new Error('unexpected end of GGUF header');
  }

  u32(): number {
    this.need(4);
    const v = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.buffer.readBigUInt64LE(this.offset);
    this.offset += 8;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buffer.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  string(): string {
    return this.bytes(Number(this.u64())).toString('utf8');
  }

  value(type: number, keep: boolean): Value {
    if (type === STRING) return this.string();
    if (type === ARRAY) {
      const itemType = this.u32();
      const count = Number(this.u64());
      const items: Value[] = [];
      for (let i = 0; i < count; i++) {
        const item = this.value(itemType, keep && count <= 64);
        if (keep && count <= 64) items.push(item);
      }
      return items;
    }
    const size = SCALAR_SIZES[type];
    if (size === undefined) throw new Error(`unknown GGUF value type ${type}`);
    const raw = this.bytes(size);
    switch (type) {
      case 0: return raw.readUInt8(0);
      case 1: return raw.readInt8(0);
      case 2: return raw.readUInt16LE(0);
      case 3: return raw.readInt16LE(0);
      case 4: return raw.readUInt32LE(0);
      case 5: return raw.readInt32LE(0);
      case 6: return raw.readFloatLE(0);
      case 7: return raw.readUInt8(0) !== 0;
      case 10: return raw.readBigUInt64LE(0);
      case 11: return raw.readBigInt64LE(0);
      default: return raw.readDoubleLE(0);
    }
  }
}

export interface GgufInfo {
  version: number;
  metadata: Map<string, Value>;
  architecture?: string;
  embeddingLength?: number;
}

/** Parses the header; throws when the file is not GGUF. Large arrays (the vocabulary) are skipped. */
export function readGgufInfo(path: string): GgufInfo {
  const fd = openSync(path, 'r');
  try {
    const reader = new Reader(fd);
    const magic = reader.bytes(4).toString('latin1');
    if (magic !== 'GGUF') throw new Error(`${path} is not a GGUF file (magic ${JSON.stringify(magic)})`);
    const version = reader.u32();
    reader.u64(); // tensor count
    const count = Number(reader.u64());
    const metadata = new Map<string, Value>();
    for (let i = 0; i < count; i++) {
      const key = reader.string();
      const type = reader.u32();
      metadata.set(key, reader.value(type, true));
    }
    const architecture = metadata.get('general.architecture');
    const info: GgufInfo = { version, metadata };
    if (typeof architecture === 'string') {
      info.architecture = architecture;
      const length = metadata.get(`${architecture}.embedding_length`);
      if (typeof length === 'number' || typeof length === 'bigint') info.embeddingLength = Number(length);
    }
    return info;
  } finally {
    closeSync(fd);
  }
}
