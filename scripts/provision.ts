#!/usr/bin/env -S npx tsx
/**
 * `make provision`: the steps in order, under the profile's lock. Each prints one line
 * (created | unchanged | replaced, seconds); a second run changes nothing and takes seconds.
 */
import { STEPS } from './steps.ts';
import { platformFacts, wslVersion } from './lib/machine/platform.ts';
import { wslProvisionLine } from './lib/machine/wsl.ts';
import { jupyterToken, readyUrl } from './lib/jupyter/jupyter.ts';
import { resolveModelSources } from './lib/profile/model-sources.ts';
import { planFor, profileName, REPO_ROOT } from './lib/profile/index.ts';
import { withProfileLock } from './lib/state/lock.ts';
import { runMain, runStep, type StepReport } from './lib/step.ts';

await runMain(async () => {
  // hf: sources pinned first (file, size, commit, sha256): preflight checks the real size.
  await resolveModelSources(profileName(), { pin: true, required: true }, process.env, REPO_ROOT);
  const plan = planFor();
  const started = performance.now();
  console.log(`provisioning profile "${plan.profile.name}" (${plan.profile.files.join(' + ')})`);
  const reports: StepReport[] = await withProfileLock(plan, 'make provision', async () => {
    const done: StepReport[] = [];
    // Each step gets the plan as the steps before it left the machine: the env's python once
    // step 20 made it (a conda env's), a model's sha256 once step 30 recorded it.
    for (const step of STEPS) done.push(await runStep(step, planFor(plan.profile.name), { earlier: [...done] }));
    return done;
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const changed = reports.filter((r) => r.outcome === 'created' || r.outcome === 'replaced').length;
  console.log(`\nready in ${seconds}s (${changed ? `${changed} steps changed something` : 'nothing changed'})`);
  console.log(`  model server  ${plan.server.baseUrl}  (${plan.models.length > 1 ? `models ${plan.models.map((m) => `"${m.alias}"`).join(', ')}` : `model "${plan.model.alias}"`})`);
  if (plan.jupyter.enabled) console.log(`  JupyterLab    ${readyUrl(plan, jupyterToken(plan))}`);
  console.log(`  new shells get OPENAI_BASE_URL from ${plan.paths.bashrc}; make status | logs | open | down`);
  const platform = await platformFacts();
  if (wslVersion(platform.procVersion)) console.log(wslProvisionLine(plan.runtime, /docker desktop/i.test(platform.dockerOs ?? '')));
});
