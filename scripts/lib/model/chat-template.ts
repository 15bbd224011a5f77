/**
 * A model's own chat template (`tokenizer.chat_template` in its GGUF header) and the family it
 * belongs to: what `chat_format: auto` decides with. A model swapped by name (hf:...) then gets the
 * tool-capable template of its family without the profile naming one, and a template no family
 * matches is said as such instead of failing the tool checks with prose.
 *
 * Read synchronously, key by key, stopping at the template: the plan is resolved synchronously,
 * and the header of a 7B model holds megabytes of vocabulary before it.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { ChatTemplateFacts } from '../plan/index.ts';

/**
 * Families by the markers their templates write (the tokens each family's turns are made of).
 * Order matters: Llama 2 and Mistral share [INST], Llama 2 alone has <<SYS>>.
 */
const FAMILIES: readonly { family: string; test: (template: string) => boolean }[] = [
  { family: 'chatml', test: (t) => t.includes('<|im_start|>') },
  { family: 'gemma', test: (t) => t.includes('<start_of_turn>') },
  { family: 'llama-3', test: (t) => t.includes('<|start_header_id|>') },
  { family: 'llama-2', test: (t) => t.includes('[INST]') && t.includes('<<SYS>>') },
  { family: 'mistral-instruct', test: (t) => t.includes('[INST]') },
  { family: 'phi3', test: (t) => t.includes('<|user|>') && t.includes('<|end|>') },
  { family: 'zephyr', test: (t) => t.includes('<|user|>') },
  { family: 'openchat', test: (t) => t.includes('GPT4 Correct User') },
  { family: 'vicuna', test: (t) => t.includes('USER:') && t.includes('ASSISTANT:') },
];

export function detectChatFamily(template: string): ChatTemplateFacts {
  const family = FAMILIES.find((f) => f.test(template))?.family;
  // `tools` read inside a Jinja statement or expression: {% if tools %}, {{ tools | tojson }}.
  const describesTools = /\{[{%][^}]*\btools\b/.test(template);
  return { ...(family ? { family } : {}), describesTools };
}

/** GGUF value types (ggml's gguf.h): the byte size of each fixed-size one. */
const FIXED_SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const STRING = 8;
const ARRAY = 9;
const KEY = 'tokenizer.chat_template';

/** A forward-only reader over a file descriptor, in chunks. */
class HeaderReader {
  private buffer = Buffer.alloc(0);
  private offset = 0;
  private filePosition = 0;
  constructor(private readonly fd: number) {}

  private ensure(bytes: number): void {
    if (this.buffer.length - this.offset >= bytes) return;
    const rest = this.buffer.subarray(this.offset);
    const chunk = Buffer.alloc(Math.max(bytes - rest.length, 1 << 20));
    const read = readSync(this.fd, chunk, 0, chunk.length, this.filePosition);
    this.filePosition += read;
    this.buffer = Buffer.concat([rest, chunk.subarray(0, read)]);
    this.offset = 0;
    if (this.buffer.length < bytes) throw new RangeError('the GGUF header ends early');
  }

  u32(): number {
    this.ensure(4);
    const value = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }

  u64(): number {
    this.ensure(8);
    const value = this.buffer.readBigUInt64LE(this.offset);
    this.offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('a GGUF length past 2^53');
    return Number(value);
  }

  string(): string {
    const length = this.u64();
    this.ensure(length);
    const text = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return text;
  }

  skip(bytes: number): void {
    while (bytes > 0) {
      const available = this.buffer.length - this.offset;
      if (available >= bytes) {
        this.offset += bytes;
        return;
      }
      bytes -= available;
      this.offset = this.buffer.length;
      this.ensure(Math.min(bytes, 1 << 20));
    }
  }

  skipValue(type: number): void {
    if (type === STRING) return this.skip(this.u64());
    if (type === ARRAY) {
      const itemType = this.u32();
      const count = this.u64();
      if (FIXED_SIZES[itemType] !== undefined) return this.skip(count * FIXED_SIZES[itemType]!);
      for (let i = 0; i < count; i++) this.skipValue(itemType);
      return;
    }
    const size = FIXED_SIZES[type];
    if (size === undefined) throw new RangeError(`an unknown GGUF value type ${type}`);
    this.skip(size);
  }
}

/**
 * The template the GGUF carries, or undefined when it carries none. Throws when the file is not
 * GGUF or its header cannot be walked (the caller decides what that means).
 */
export function readChatTemplate(path: string): string | undefined {
  // A command resolves its plan once per step: the same file is read once while it is unchanged.
  const { size, mtimeMs } = statSync(path);
  const key = `${path}\0${size}\0${mtimeMs}`;
  if (!read.has(key)) read.set(key, walkHeader(path));
  return read.get(key);
}

const read = new Map<string, string | undefined>();

function walkHeader(path: string): string | undefined {
  const fd = openSync(path, 'r');
  try {
    const reader = new HeaderReader(fd);
    if (reader.u32() !== 0x46554747) throw new RangeError('not a GGUF file (no GGUF magic)');
    const version = reader.u32();
    if (version < 2) throw new RangeError(`GGUF version ${version} predates 64-bit lengths`);
    reader.u64(); // tensor count
    const pairs = reader.u64();
    for (let i = 0; i < pairs; i++) {
      const key = reader.string();
      const type = reader.u32();
      if (key === KEY && type === STRING) return reader.string();
      reader.skipValue(type);
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
