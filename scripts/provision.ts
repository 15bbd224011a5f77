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
import { planFor, planResolutions, profileName, REPO_ROOT } from './lib/profile/index.ts';
import { withProfileLock } from './lib/state/lock.ts';
import { runMain, runSteps, type StepReport } from './lib/step.ts';

await runMain(async () => {
  // hf: sources pinned first (file, size, commit, sha256): preflight checks the real size.
  await resolveModelSources(profileName(), { pin: true, required: true }, process.env, REPO_ROOT);
  const plan = planFor();
  const started = performance.now();
  console.log(`provisioning profile "${plan.profile.name}" (${plan.profile.files.join(' + ')})`);
  const reports: StepReport[] = await withProfileLock(plan, 'make provision', () => runSteps(STEPS, plan, () => planFor(plan.profile.name)));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const changed = reports.filter((r) => r.outcome === 'created' || r.outcome === 'replaced').length;
  console.log(`\nready in ${seconds}s (${changed ? `${changed} steps changed something` : 'nothing changed'})`);
  console.log(`  model server  ${plan.server.baseUrl}  (${plan.models.length > 1 ? `models ${plan.models.map((m) => `"${m.alias}"`).join(', ')}` : `model "${plan.model.alias}"`})`);
  if (plan.jupyter.enabled) console.log(`  JupyterLab    ${readyUrl(plan, jupyterToken(plan))}`);
  console.log(`  new shells get OPENAI_BASE_URL from ${plan.paths.bashrc}; make status | logs | open | down`);
  const platform = await platformFacts();
  if (wslVersion(platform.procVersion)) console.log(wslProvisionLine(plan.runtimeTraits.inContainer, /docker desktop/i.test(platform.dockerOs ?? '')));
  if (process.env.DEBUG === '1') console.error(`plans resolved: ${planResolutions()}`);
});
