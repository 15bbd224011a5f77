/**
 * Sources that must be looked up before a plan can say what they are (hf:<repo>:<quant>: which
 * file, how big, which commit, which sha256) are looked up here, once, and pinned in
 * env/<profile>.lock.json; the plan (pure) reads them from there. A source already pinned is not
 * asked again: the lock is what makes a second machine fetch the same bytes.
 */
import { join } from 'node:path';
import { isWorkbenchError } from '../errors.ts';
import { readLock, updateLock } from '../state/lock-file.ts';
import { loadProfile } from './load.ts';
import { profilesDir } from './plan.ts';
import { modelId, parseModelSource, transportFor } from '../model/transport/index.ts';
import type { LockedModel } from '../plan/index.ts';

/**
 * Looks up the profile's unpinned hf: models. `pin: true` records them in the lock file (provision,
 * a step); `make plan` asks with `pin: false` and changes nothing. Returns them by model id.
 * `required: false` (anything but fetching the model): a Hub out of reach is said once and the
 * model planned unpinned (its cache name does not depend on the lookup; only its size is unknown).
 */
export async function resolveModelSources(
  name: string,
  options: { pin: boolean; required: boolean },
  env: NodeJS.ProcessEnv = process.env,
  repoRoot: string,
): Promise<Record<string, LockedModel>> {
  const envDir = profilesDir(repoRoot, env);
  const loaded = loadProfile(name, envDir);
  const lockFile = join(envDir, `${name}.lock.json`);
  const lock = readLock(lockFile);
  const found: Record<string, LockedModel> = {};
  for (const model of [loaded.profile.model, ...loaded.profile.extra_models]) {
    const source = parseModelSource(model.source, model.file);
    const transport = transportFor(source);
    if (!transport.lookUp) continue;
    const id = modelId(model.source, model.file);
    const entry = lock.models[id];
    if (entry?.source === model.source && entry.revision && entry.parts?.length) continue;
    let resolution;
    try {
      resolution = await transport.lookUp(source, model.source, env);
    } catch (error) {
      if (options.required || !isWorkbenchError(error) || !error.message.startsWith('could not reach')) throw error;
      console.error(`note: ${error.message}: ${model.source} is planned without its size (make model looks it up)`);
      continue;
    }
    const { revision, parts } = resolution;
    found[id] = { source: model.source, ...(model.file ? { file: model.file } : {}), sha256: parts[0]!.sha256, revision, parts };
  }
  if (options.pin && Object.keys(found).length) updateLock(lockFile, (l) => void Object.assign(l.models, found));
  return found;
}
