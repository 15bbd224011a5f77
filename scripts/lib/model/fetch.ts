/**
 * Brings the profile's model into the cache, verified: fetch through the source's transport to
 * `.partial`, check the sha256, then rename. A profile without a sha256 records the first
 * download's in env/<profile>.lock.json, and later downloads must match it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { displayPath, WorkbenchError } from '../errors.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import { readLock } from '../state/lock-file.ts';
import type { Preview } from '../outcome.ts';
import { diskFullError, isDiskFull } from '../disk-full.ts';
import { checkModelFile } from './gguf.ts';
import { sha256OfFile } from './sha256.ts';
import { modelId } from './transport/source.ts';
import { localPathOf, transportFor } from './transport/index.ts';
import type { Plan, PlanModel } from '../plan/index.ts';

/** The sha256 of a file, remembered beside it (keyed by size and mtime) so re-runs skip hashing 4 GB. */
async function verifiedSha256(path: string, sidecar: string): Promise<string> {
  const { size, mtimeMs } = statSync(path);
  if (existsSync(sidecar)) {
    try {
      const known = JSON.parse(readFileSync(sidecar, 'utf8')) as { size: number; mtimeMs: number; sha256: string };
      if (known.size === size && known.mtimeMs === mtimeMs) return known.sha256;
    } catch {
      // Recompute below.
    }
  }
  const sha256 = await sha256OfFile(path);
  writeFileAtomic(sidecar, `${JSON.stringify({ size, mtimeMs, sha256 })}\n`);
  return sha256;
}

/** The sha256 of the model in the cache (remembered, so this is cheap on every run). */
export async function modelSha256(plan: Plan, model: PlanModel = plan.model): Promise<string> {
  return verifiedSha256(model.path, sidecarOf(plan, model));
}

function sidecarOf(plan: Plan, model: PlanModel): string {
  // Never beside a file: source (it may be read-only); always in our cache.
  return `${plan.paths.modelsDir}/${model.id}.sha256.json`;
}

export interface ModelResult {
  outcome: 'created' | 'unchanged' | 'replaced';
  path: string;
  sha256: string;
  bytes: number;
}

/** What ensureModel would do, and why. */
export async function previewModel(plan: Plan, model: PlanModel = plan.model): Promise<Preview> {
  const target = model.path;
  const from = localPathOf(model.source) !== undefined ? `the file ${displayPath(target)}` : model.sourceText;
  if (!existsSync(target)) return { action: 'create', why: `fetches ${from}` };
  const sha256 = await verifiedSha256(target, sidecarOf(plan, model));
  if (!model.sha256 || sha256 === model.sha256) return { action: 'keep', why: `sha256 ${sha256.slice(0, 12)}` };
  return { action: 'replace', why: `its sha256 is ${sha256.slice(0, 12)}, the profile wants ${model.sha256.slice(0, 12)}: fetches ${from} again` };
}

export async function ensureModel(plan: Plan, model: PlanModel, python: string, log: (line: string) => void = console.log): Promise<ModelResult> {
  const target = model.path;
  const partial = `${target}.partial`;
  const expected = model.sha256;
  mkdirSync(plan.paths.modelsDir, { recursive: true });
  const existed = existsSync(target);
  const what = 'model.source';
  // A split GGUF is whole only with every part beside the first (the transport checks each).
  const partsMissing = (model.resolved?.parts ?? []).slice(1).some((part) => !existsSync(join(dirname(target), part.fileName)));
  if (existed && !partsMissing) {
    const sha256 = await verifiedSha256(target, sidecarOf(plan, model));
    if (!expected || sha256 === expected) {
      try {
        await checkModelFile(target, `${what} ${model.sourceText}`);
        recordLock(plan, model, sha256);
        return { outcome: 'unchanged', path: target, sha256, bytes: statSync(target).size };
      } catch (error) {
        // A cached file that is not a model (an earlier version's bug, a disk error) is fetched
        // again, once; a file: source is the user's own file and is never removed.
        if (localPathOf(model.source) !== undefined) throw error;
        log(`  ${displayPath(target)} in the cache is not a usable model: removing it and fetching it again`);
        rmSync(target, { force: true });
      }
    } else {
      if (localPathOf(model.source) !== undefined) throw mismatch(plan, model, target, expected, sha256);
      log(`  ${displayPath(target)} does not match the expected sha256: fetching it again`);
    }
  }

  mkdirSync(dirname(target), { recursive: true });
  let fetched: string;
  try {
    fetched = await transportFor(model.source).fetch({ folders: { cacheDir: plan.paths.cacheDir, stateDir: plan.paths.stateDir }, model, target, partial, python, log });
  } catch (error) {
    if (!isDiskFull(error)) throw error;
    // Half a model in the cache is worse than none: the next run starts clean once space is freed.
    rmSync(partial, { force: true });
    throw diskFullError(dirname(target), `downloading ${model.sourceText}`, model.sizeMb ? model.sizeMb * 1024 * 1024 : undefined, error);
  }
  const sha256 = await sha256OfFile(fetched);
  if (expected && sha256 !== expected) {
    if (fetched === target) throw mismatch(plan, model, fetched, expected, sha256);
    // Moved aside, never left as the .partial a next run would resume (every byte "there", the
    // same wrong sha256 forever): kept for inspection, and the next run downloads afresh.
    const aside = `${target}.sha256-mismatch`;
    renameSync(fetched, aside);
    throw mismatch(plan, model, aside, expected, sha256);
  }
  try {
    await checkModelFile(fetched, `${what} ${model.sourceText}`);
  } catch (error) {
    // Nothing that is not a model enters the cache, so the next run fetches it again.
    if (fetched !== target) rmSync(fetched, { force: true });
    throw error;
  }
  if (fetched !== target) renameSync(fetched, target);
  const { size, mtimeMs } = statSync(target);
  writeFileAtomic(sidecarOf(plan, model), `${JSON.stringify({ size, mtimeMs, sha256 })}\n`);
  recordLock(plan, model, sha256);
  return { outcome: existed ? 'replaced' : 'created', path: target, sha256, bytes: size };
}

function mismatch(plan: Plan, model: PlanModel, path: string, expected: string, actual: string): WorkbenchError {
  const from = model.sha256Origin === 'lock' ? displayPath(plan.paths.lockFile) : 'model.sha256 in the profile';
  return new WorkbenchError(
    `the sha256 of ${displayPath(path)} is ${actual}, but ${from} says ${expected}`,
    localPathOf(model.source) !== undefined
      ? 'fix model.sha256 or point model.source at the right file'
      : `the file is kept at ${displayPath(path)} for inspection; if the expected sha256 is wrong fix it, otherwise run again: the download starts over`,
  );
}

/** A profile without a sha256 pins the first download's in its lock file. */
function recordLock(plan: Plan, model: PlanModel, sha256: string): void {
  if (model.sha256Origin !== 'none') return;
  const lock = readLock(plan.paths.lockFile);
  const { sourceText: source, fileField: file } = model;
  lock.models[modelId(source, file)] = { source, ...(file ? { file } : {}), sha256 };
  writeFileAtomic(plan.paths.lockFile, `${JSON.stringify(lock, null, 2)}\n`);
}
