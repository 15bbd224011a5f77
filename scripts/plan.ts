#!/usr/bin/env -S npx tsx
/**
 * `make plan`: what `make provision` would do for $PROFILE, step by step and why, changing
 * nothing (as `terraform plan`): `40-model-server  would replace  (--n_ctx 2048 -> 1024)`.
 * `make plan JSON=1` prints the fully resolved plan instead: every path, version, flag and the
 * exact server command the steps use (server.command, container.command).
 */
import { argv } from 'zx';
import { backendFor } from './lib/backend/index.ts';
import { isWorkbenchError, WorkbenchError } from './lib/errors.ts';
import { resolveModelSources } from './lib/profile/model-sources.ts';
import { planFor, profileName, REPO_ROOT } from './lib/profile/index.ts';
import { formatPreviewLine, runMain } from './lib/step.ts';
import { STEPS } from './steps.ts';

await runMain(async () => {
  // hf: sources are looked up (their file, size, commit) but not pinned: make plan changes nothing.
  const plan = planFor(profileName(), process.env, REPO_ROOT, await resolveModelSources(profileName(), { pin: false, required: false }, process.env, REPO_ROOT));
  if (argv.json) {
    // The plan holds the server command (server.command: what the runtime runs; container.command:
    // the image's), the very one step 40 starts and render writes.
    console.log(JSON.stringify(plan, null, 2));
    return;
  }
  console.log(`plan for profile "${plan.profile.name}" (${plan.profile.files.join(' + ')}): nothing is changed`);
  // How each model's tools are answered (chat_format: auto decides once the GGUF is here).
  for (const model of plan.models) {
    const tools = backendFor(plan).toolRoute(model);
    console.log(`tools${plan.models.length > 1 ? ` of ${model.alias}` : ''}: ${tools.route}${tools.unsupported ? `; not supported: ${tools.unsupported}` : ''}`);
  }
  let changes = 0;
  const failures: string[] = [];
  for (const step of STEPS) {
    try {
      const preview = await step.preview(plan);
      if (preview.action === 'create' || preview.action === 'replace') changes++;
      console.log(formatPreviewLine(step.name, preview));
    } catch (error) {
      // The plan goes on: the user sees every step, and this one's error with its fix.
      if (!isWorkbenchError(error)) throw error;
      failures.push(step.name);
      console.log(`${step.name.padEnd(18)} would fail     (${error.message})\n${' '.repeat(19)}hint: ${error.hint}`);
    }
  }
  console.log(changes ? `\n${changes} step${changes === 1 ? '' : 's'} would change something: make provision does it` : '\nnothing to change');
  if (failures.length) {
    throw new WorkbenchError(`make provision would stop at ${failures[0]}`, 'fix what the plan says above, then run make plan again');
  }
});
