/**
 * What we need from a GGUF file's header, read by Hugging Face's own GGUF parser (local files as
 * well as URLs): the architecture and embedding length for the checks, and, before a model is
 * taken into the cache, proof that it is a model at all (magic, version, tensors, architecture,
 * and a file long enough for the tensors its header announces).
 */
import { statSync } from 'node:fs';
import { gguf, GGMLQuantizationType } from '@huggingface/gguf';
import { displayPath, WorkbenchError } from '../errors.ts';

export interface GgufInfo {
  architecture?: string;
  embeddingLength?: number;
}

/** Reads the header; rejects when the file is not GGUF. */
export async function readGgufInfo(path: string): Promise<GgufInfo> {
  const { metadata } = await gguf(path, { allowLocalFile: true });
  const values = metadata as unknown as Record<string, unknown>;
  const architecture = values['general.architecture'];
  if (typeof architecture !== 'string') return {};
  const length = values[`${architecture}.embedding_length`];
  return { architecture, ...(typeof length === 'number' || typeof length === 'bigint' ? { embeddingLength: Number(length) } : {}) };
}

/** Bytes per block and elements per block of the tensor types models ship in (ggml's type_traits). */
const BLOCKS: Partial<Record<number, [bytes: number, elements: number]>> = {
  [GGMLQuantizationType.F32]: [4, 1],
  [GGMLQuantizationType.F16]: [2, 1],
  [GGMLQuantizationType.BF16]: [2, 1],
  [GGMLQuantizationType.Q4_0]: [18, 32],
  [GGMLQuantizationType.Q4_1]: [20, 32],
  [GGMLQuantizationType.Q5_0]: [22, 32],
  [GGMLQuantizationType.Q5_1]: [24, 32],
  [GGMLQuantizationType.Q8_0]: [34, 32],
  [GGMLQuantizationType.Q2_K]: [84, 256],
  [GGMLQuantizationType.Q3_K]: [110, 256],
  [GGMLQuantizationType.Q4_K]: [144, 256],
  [GGMLQuantizationType.Q5_K]: [176, 256],
  [GGMLQuantizationType.Q6_K]: [210, 256],
};

export interface ModelHeader {
  version: number;
  tensorCount: number;
  architecture: string;
}

/**
 * Refuses a file that is not a model, naming it: not GGUF (random bytes, an HTML error page, a
 * zip), a GGUF without tensors or architecture, or one cut short of the tensors it announces.
 * Found here, the problem is named; found by the server, it is "exited while starting".
 */
export async function checkModelFile(path: string, what: string): Promise<ModelHeader> {
  const refuse = (why: string) =>
    new WorkbenchError(`${displayPath(path)} (${what}) is not a usable model: ${why}`, 'point the source at a .gguf model file (llama.cpp\'s format); a download cut short or corrupted is fetched again on the next run');
  let parsed;
  try {
    parsed = await gguf(path, { allowLocalFile: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw refuse(/magic|GGUF/i.test(message) ? 'it does not start with the GGUF magic bytes' : `its GGUF header cannot be read (${message})`);
  }
  const values = parsed.metadata as unknown as Record<string, unknown>;
  const version = Number(values.version);
  const tensorCount = Number(values.tensor_count);
  const architecture = values['general.architecture'];
  if (!(version >= 1 && version <= 3)) throw refuse(`GGUF version ${version} is not one llama.cpp reads (1 to 3)`);
  if (!(tensorCount > 0)) throw refuse('its header lists no tensors');
  if (typeof architecture !== 'string' || !architecture) throw refuse('its header names no architecture (general.architecture)');
  const size = statSync(path).size;
  let needed = 0n;
  for (const tensor of parsed.tensorInfos) {
    const block = BLOCKS[tensor.dtype];
    const elements = tensor.shape.reduce((a, b) => a * b, 1n);
    const bytes = block ? (elements * BigInt(block[0])) / BigInt(block[1]) : 1n;
    const end = parsed.tensorDataOffset + tensor.offset + bytes;
    if (end > needed) needed = end;
  }
  if (BigInt(size) < needed) throw refuse(`it is ${size} bytes long, but its tensors need ${needed} (cut short)`);
  return { version, tensorCount, architecture };
}
