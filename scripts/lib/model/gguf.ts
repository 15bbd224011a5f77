/**
 * What the checks need from a GGUF file's header (the architecture and its embedding length),
 * read by Hugging Face's own GGUF parser, which reads local files as well as URLs.
 */
import { gguf } from '@huggingface/gguf';

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
