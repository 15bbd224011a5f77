/** Each model of a profile (`model`, then `extra_models`) resolved: where it comes from, where it is kept, how it is served. */
import { join } from 'node:path';
import { modelFileName, modelId, parseModelSource, type ModelSource } from '../model/transport/source.ts';
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
}

/** The largest model's size (parallel slots are sized for it); undefined when one is unknown. */
export function largestSizeMb(models: PlanModel[]): number | undefined {
  const sizes = models.map((m) => m.sizeMb);
  return sizes.every((size) => size !== undefined) ? Math.max(...(sizes as number[])) : undefined;
}

export function resolveModel(model: Profile['model'], modelsDir: string, lockedSha256: Record<string, string>): PlanModel {
  const source = parseModelSource(model.source, model.file);
  const id = modelId(model.source, model.file);
  const fileName = modelFileName(source, model.file);
  const locked = lockedSha256[id];
  const sha256 = model.sha256?.toLowerCase() ?? locked;
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
    ...(model.size_mb ? { sizeMb: model.size_mb } : {}),
  };
}
