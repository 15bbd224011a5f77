#!/usr/bin/env -S npx tsx
/**
 * `make models [JSON=1]`: what the model cache holds (source, files, size, sha256, last used,
 * which profiles use it) and the disk it takes. `make models-rm MODEL=<alias | source | id>`:
 * removes one, refusing a model a running profile serves.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { argv } from 'zx';
import { displayPath, WorkbenchError } from './lib/errors.ts';
import { cachedModels, humanBytes, modelsNamed, removeCachedModel, type CachedModel } from './lib/model/cache.ts';
import { listProfiles } from './lib/profile/load.ts';
import { planFor, profileName, REPO_ROOT } from './lib/profile/index.ts';
import { profilesDir } from './lib/profile/plan.ts';
import { runningServers, runtimeFor } from './lib/runtime/index.ts';
import { describeServing, stateRootOf } from './lib/state/serving.ts';
import { runMain } from './lib/step.ts';
import type { Plan } from './lib/plan/index.ts';

/** Every profile that loads (one that does not is no reason to hide the cache). */
function allPlans(): Plan[] {
  const envDir = profilesDir(REPO_ROOT, process.env);
  return listProfiles(envDir).flatMap((name) => {
    try {
      return [planFor(name)];
    } catch {
      return [];
    }
  });
}

/**
 * Who serves a model now: every server of this user recorded in the state folders (a second
 * checkout's, a deleted profile's), and any profile here whose server is up without a record
 * (started before records were written).
 */
async function runningUsers(model: CachedModel, plans: Plan[], current: Plan): Promise<{ profile: string; description: string }[]> {
  const folder = join(current.paths.modelsDir, model.id);
  const recorded = (await runningServers(stateRootOf(current.paths.stateDir)))
    .filter((record) => record.models.some((m) => m.id === model.id || m.path.startsWith(`${folder}/`)))
    .map((record) => ({ profile: record.profile, description: describeServing(record) }));
  const unrecorded = [];
  for (const user of plans.filter((p) => model.profiles.includes(p.profile.name) && !recorded.some((r) => r.profile === p.profile.name))) {
    const status = await runtimeFor(user).status(user);
    if (status.health !== 'stopped') unrecorded.push({ profile: user.profile.name, description: `profile ${user.profile.name} (${status.url})` });
  }
  return [...recorded, ...unrecorded];
}

function table(models: CachedModel[]): string {
  const header = ['model', 'source', 'size', 'sha256', 'last used', 'profiles'];
  const rows = models.map((m) => [
    m.id,
    `${m.source ?? '(no profile names it)'}${m.files.length > 1 ? ` (${m.files.length} files)` : ''}${m.incomplete.length ? ` + ${m.incomplete.join(', ')}` : ''}`,
    humanBytes(m.bytes),
    m.sha256?.slice(0, 12) ?? '-',
    m.lastUsed?.replace(/\.\d+Z$/, 'Z') ?? '-',
    m.profiles.join(', ') || '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

await runMain(async () => {
  const plans = allPlans();
  const plan = planFor(profileName());
  const modelsDir = plan.paths.modelsDir;
  // Every lock file, a profile's that is gone included: it still says where a cached model came from.
  const envDir = profilesDir(plan.paths.repoRoot, process.env);
  const lockFiles = readdirSync(envDir).filter((file) => file.endsWith('.lock.json')).map((file) => join(envDir, file));
  const models = cachedModels(modelsDir, plans, lockFiles);

  if (argv._[0] === 'rm') {
    const word = process.env.MODEL ?? '';
    if (!word) throw new WorkbenchError('make models-rm needs MODEL=<alias, source or id>', 'make models lists them');
    const named = modelsNamed(models, plans, word);
    if (named.length === 0) throw new WorkbenchError(`no cached model is "${word}"`, `name one by a profile's alias, its model.source or its id; make models lists ${models.length ? models.map((m) => m.id).join(', ') : 'none: the cache is empty'}`);
    if (named.length > 1) throw new WorkbenchError(`"${word}" names ${named.length} cached models (${named.map((m) => m.id).join(', ')})`, 'name one by its id');
    const model = named[0]!;
    const users = await runningUsers(model, plans, plan);
    if (users.length) {
      const profiles = [...new Set(users.map((u) => u.profile))];
      throw new WorkbenchError(
        `${model.id} (${model.source ?? 'no source'}) is served by ${users.map((u) => u.description).join(' and ')}, which ${users.length === 1 ? 'is' : 'are'} running`,
        `${profiles.map((name) => `make down PROFILE=${name}`).join(', ')} first (from the checkout that started it, if it is another), then make models-rm MODEL=${word}`,
      );
    }
    removeCachedModel(modelsDir, model.id);
    console.log(`removed ${model.id} (${model.source ?? 'no source'}), ${humanBytes(model.bytes)} freed${model.profiles.length ? `; profiles ${model.profiles.join(', ')} fetch it again on their next provision` : ''}`);
    return;
  }

  if (argv.json) {
    console.log(JSON.stringify({ modelsDir, bytes: models.reduce((sum, m) => sum + m.bytes, 0), models }, null, 2));
    return;
  }
  if (models.length === 0) {
    console.log(`the model cache ${displayPath(modelsDir)} is empty`);
    return;
  }
  console.log(table(models));
  console.log(`\n${models.length} model${models.length === 1 ? '' : 's'}, ${humanBytes(models.reduce((sum, m) => sum + m.bytes, 0))} in ${displayPath(modelsDir)}; make models-rm MODEL=<alias | source | id> removes one`);
});
