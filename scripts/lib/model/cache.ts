/**
 * The model cache as a user sees it: one folder per model (`<cache>/models/<id>/`, the id a digest
 * of the source), its files, its sha256 (remembered beside it), when a provision last used it, and
 * which profiles name it. What `make models` lists and `make models-rm` removes.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLock } from '../state/lock-file.ts';
import type { Plan } from '../plan/index.ts';

export interface CachedModel {
  id: string;
  /** model.source as a profile or lock file wrote it; undefined when none names it any more. */
  source?: string;
  files: { name: string; bytes: number }[];
  bytes: number;
  sha256?: string;
  lastUsed?: string;
  /** Profiles whose model or extra_models is this one. */
  profiles: string[];
  /** Left by a download that stopped (resumed by the next run) or failed its sha256 (kept aside). */
  incomplete: string[];
}

/** Step 30 marks each model it made ready: `make models` says when a provision last used it. */
export function markUsed(plan: Plan, id: string): void {
  writeFileSync(join(plan.paths.modelsDir, `${id}.used`), `${new Date().toISOString()}\n`);
}

function readUsed(modelsDir: string, id: string): string | undefined {
  try {
    return readFileSync(join(modelsDir, `${id}.used`), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function readSha256(modelsDir: string, id: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(modelsDir, `${id}.sha256.json`), 'utf8')) as { sha256?: string }).sha256;
  } catch {
    return undefined;
  }
}

/**
 * What the cache holds. `plans`: every profile's plan (those that load), for which profiles use
 * each model and its source; `lockFiles`: where a source no profile names any more is still said.
 */
export function cachedModels(modelsDir: string, plans: Plan[], lockFiles: string[]): CachedModel[] {
  if (!existsSync(modelsDir)) return [];
  const sources = new Map<string, string>();
  for (const file of lockFiles) for (const [id, entry] of Object.entries(readLock(file).models)) sources.set(id, entry.source);
  const users = new Map<string, string[]>();
  for (const plan of plans) {
    for (const model of plan.models) {
      sources.set(model.id, model.sourceText);
      users.set(model.id, [...new Set([...(users.get(model.id) ?? []), plan.profile.name])]);
    }
  }
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^[0-9a-f]{16}$/.test(entry.name))
    .map((entry) => {
      const dir = join(modelsDir, entry.name);
      const names = readdirSync(dir);
      const files = names.filter((name) => name.endsWith('.gguf')).map((name) => ({ name, bytes: statSync(join(dir, name)).size }));
      const incomplete = names.filter((name) => !name.endsWith('.gguf'));
      const bytes = names.reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
      const sha256 = readSha256(modelsDir, entry.name);
      const lastUsed = readUsed(modelsDir, entry.name);
      const source = sources.get(entry.name);
      return { id: entry.name, ...(source ? { source } : {}), files, bytes, ...(sha256 ? { sha256 } : {}), ...(lastUsed ? { lastUsed } : {}), profiles: users.get(entry.name) ?? [], incomplete };
    })
    .sort((a, b) => b.bytes - a.bytes);
}

/** The cached models a user's word names: an id (or its start), a source, or a profile's model alias. */
export function modelsNamed(models: CachedModel[], plans: Plan[], word: string): CachedModel[] {
  const byAlias = new Set(plans.flatMap((plan) => plan.models.filter((m) => m.alias === word).map((m) => m.id)));
  return models.filter((m) => m.source === word || byAlias.has(m.id) || (word.length >= 4 && m.id.startsWith(word)));
}

/** Removes one model's folder and what is remembered about it. */
export function removeCachedModel(modelsDir: string, id: string): void {
  rmSync(join(modelsDir, id), { recursive: true, force: true });
  for (const suffix of ['.sha256.json', '.used']) rmSync(join(modelsDir, `${id}${suffix}`), { force: true });
}

export function humanBytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}
