#!/usr/bin/env -S npx tsx
/** `make status`: what provision started for the profile, and whether it answers. */
import { jupyterStatus } from './lib/jupyter.ts';
import { planFor } from './lib/profile/index.ts';
import { runtimeFor } from './lib/runtime/index.ts';
import type { ServiceStatus } from './lib/runtime/types.ts';
import { runMain } from './lib/step.ts';

export function statusTable(rows: ServiceStatus[]): string {
  const header = ['service', 'pid', 'url', 'running', 'healthy'];
  const cells = rows.map((r) => [r.service, r.pid === undefined ? '-' : String(r.pid), r.url, r.running ? 'yes' : 'no', r.healthy ? 'yes' : 'no']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  return [header, ...cells].map((row) => row.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()).join('\n');
}

await runMain(async () => {
  const plan = planFor();
  const rows = [await runtimeFor(plan).status(plan)];
  if (plan.jupyter.enabled) rows.push(await jupyterStatus(plan));
  console.log(`profile ${plan.profile.name} (runtime ${plan.runtime})`);
  console.log(statusTable(rows));
  return rows.every((r) => r.running && r.healthy) ? 0 : 3;
});
