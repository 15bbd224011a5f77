#!/usr/bin/env -S npx tsx
/** `make logs [LINES=n]`: the tail of the model server's and JupyterLab's logs. */
import { jupyterLogs } from './lib/jupyter/jupyter.ts';
import { planFor } from './lib/profile/index.ts';
import { runtimeFor } from './lib/runtime/index.ts';
import { statePaths } from './lib/state/paths.ts';
import { runMain } from './lib/step.ts';
import { WorkbenchError } from './lib/errors.ts';

await runMain(async () => {
  const plan = planFor();
  const lines = Number(process.env.LINES || 50);
  if (!Number.isInteger(lines) || lines < 1) throw new WorkbenchError(`LINES is "${process.env.LINES}", not a number of lines`, 'e.g. make logs LINES=200');
  console.log(`== model server (${plan.runtimeTraits.logsTo === 'state-file' ? statePaths(plan).serverLog : plan.container.name}) ==`);
  console.log(await runtimeFor(plan).logs(plan, lines));
  if (plan.jupyter.enabled) {
    console.log(`\n== JupyterLab (${statePaths(plan).jupyterLog}) ==`);
    console.log(jupyterLogs(plan, lines));
  }
});
