/** Each model of a profile (`model`, then `extra_models`) resolved: where it comes from, where it is kept, how it is served. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { detectChatFamily } from '../model/chat-template.ts';
import { localPathOf, modelFileName, modelId, parseModelSource } from '../model/transport/index.ts';
import type { Profile } from './schema.ts';
import type { LockedModel, PlanModel } from '../plan/index.ts';

/** The largest model's size (parallel slots are sized for it); undefined when one is unknown. */
export function largestSizeMb(models: PlanModel[]): number | undefined {
  const sizes = models.map((m) => m.sizeMb);
  return sizes.every((size) => size !== undefined) ? Math.max(...(sizes as number[])) : undefined;
}

/** Reads a GGUF's own chat template (model/chat-template.ts); tests hand in their own. */
export type ChatTemplateReader = (path: string) => string | undefined;

/**
 * chat_format: a name is taken as it is; auto (or none) reads the GGUF's template when the file is
 * here: a template that describes tools is used as it is, else its family's (ours have tools).
 */
function chooseChatFormat(named: string | undefined, path: string, readTemplate: ChatTemplateReader | undefined): Pick<PlanModel, 'chatFormat' | 'chatFormatFrom' | 'chatTemplate'> {
  if (named && named !== 'auto') return { chatFormat: named, chatFormatFrom: 'profile' };
  if (!readTemplate || !existsSync(path)) return { chatFormatFrom: 'pending' };
  let template: string | undefined;
  try {
    template = readTemplate(path);
  } catch {
    // Not a readable GGUF: step 30 names that; the server's own template stands meanwhile.
    return { chatFormatFrom: 'pending' };
  }
  const facts = template === undefined ? { describesTools: false } : detectChatFamily(template);
  if (facts.describesTools || !facts.family) return { chatFormatFrom: 'model', chatTemplate: facts };
  return { chatFormat: facts.family, chatFormatFrom: 'detected', chatTemplate: facts };
}

export function resolveModel(model: Profile['model'], modelsDir: string, lockedModels: Record<string, LockedModel>, readTemplate?: ChatTemplateReader): PlanModel {
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
  const path = localPathOf(source) ?? join(modelsDir, id, fileName);
  return {
    id,
    source,
    sourceText: model.source,
    ...(model.file ? { fileField: model.file } : {}),
    fileName,
    path,
    ...(sha256 ? { sha256 } : {}),
    sha256Origin: model.sha256 ? 'profile' : locked ? 'lock' : 'none',
    alias: model.alias,
    ...chooseChatFormat(model.chat_format, path, readTemplate),
    nCtx: model.n_ctx,
    pooling: model.pooling,
    ...(sizeMb ? { sizeMb } : {}),
    ...(parts ? { resolved: { revision: lockEntry!.revision!, parts: parts.map((part, i) => ({ ...part, fileName: partNames[i]! })) } } : {}),
  };
}
