/** Each model of a profile (`model`, then `extra_models`) resolved: where it comes from, where it is kept, how it is served. */
import { join } from 'node:path';
import { modelFileName } from '../model/transport/index.ts';
import { modelId, parseModelSource, type ModelSource } from '../model/transport/source.ts';
import type { LockedModel } from './lock-file.ts';
import type { Profile } from './schema.ts';

export interface PlanModel {
  id: string;
  source: ModelSource;
  /** model.source and model.file as the profile wrote them (the lock-file key). */
  sourceText: string;
  fileField?: string;
  fileName: string;
  path: string;
  sha256?: string;
  sha256Origin: 'profile' | 'lock' | 'none';
  alias: string;
  chatFormat?: string;
  nCtx: number;
  pooling: 'mean' | 'cls' | 'last';
  sizeMb?: number;
  /**
   * hf: what the repo's file list resolved the source to (env/<profile>.lock.json): the commit,
   * and every file of the model, the first at `path`, the others (a split GGUF's parts) beside it.
   */
  resolved?: { revision: string; parts: { path: string; fileName: string; size: number; sha256: string }[] };
}

/** The largest model's size (parallel slots are sized for it); undefined when one is unknown. */
export function largestSizeMb(models: PlanModel[]): number | undefined {
  const sizes = models.map((m) => m.sizeMb);
  return sizes.every((size) => size !== undefined) ? Math.max(...(sizes as number[])) : undefined;
}

export function resolveModel(model: Profile['model'], modelsDir: string, lockedModels: Record<string, LockedModel>): PlanModel {
  const source = parseModelSource(model.source, model.file);
  const id = modelId(model.source, model.file);
  const entry = lockedModels[id];
  // A lock entry written for another source text (an edited profile) says nothing about this one.
  const lockEntry = entry && entry.source === model.source ? entry : undefined;
  // Parts and a revision: a source that was looked up (hf:), pinned by the lock.
  const parts = lockEntry?.parts?.length && lockEntry.revision ? lockEntry.parts : undefined;
  // An hf: model keeps the name its source gives it (the plan knows it before any lookup); a
  // split GGUF's parts get the -0000i-of-0000n suffix llama.cpp finds the others by.
  const single = modelFileName(source, model.file);
  const partNames = parts && parts.length > 1 ? parts.map((_, i) => `${single.replace(/\.gguf$/i, '')}-${String(i + 1).padStart(5, '0')}-of-${String(parts.length).padStart(5, '0')}.gguf`) : [single];
  const fileName = partNames[0]!;
  const locked = lockEntry?.sha256;
  const sha256 = model.sha256?.toLowerCase() ?? locked;
  const sizeMb = model.size_mb ?? (parts ? Math.ceil(parts.reduce((sum, part) => sum + part.size, 0) / 1024 / 1024) : undefined);
  return {
    id,
    source,
    sourceText: model.source,
    ...(model.file ? { fileField: model.file } : {}),
    fileName,
    path: source.kind === 'file' ? source.path : join(modelsDir, id, fileName),
    ...(sha256 ? { sha256 } : {}),
    sha256Origin: model.sha256 ? 'profile' : locked ? 'lock' : 'none',
    alias: model.alias,
    ...(model.chat_format ? { chatFormat: model.chat_format } : {}),
    nCtx: model.n_ctx,
    pooling: model.pooling,
    ...(sizeMb ? { sizeMb } : {}),
    ...(parts ? { resolved: { revision: lockEntry!.revision!, parts: parts.map((part, i) => ({ ...part, fileName: partNames[i]! })) } } : {}),
  };
}
