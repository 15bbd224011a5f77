#!/usr/bin/env -S npx tsx
/** `make status`: what provision started for the profile, and whether it answers. */
import { jupyterStatus } from './lib/jupyter/jupyter.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { planFor, profileName, REPO_ROOT } from './lib/profile/index.ts';
import { profilesDir, stateRootFor } from './lib/profile/plan.ts';
import { describeServing, servingRecords } from './lib/state/serving.ts';
import { formerServers, runningServers, runtimeFor } from './lib/runtime/index.ts';
import type { ServiceStatus } from './lib/runtime/types.ts';
import { runMain } from './lib/step.ts';
import { workerStatus } from './lib/rpc/worker-service.ts';
import { backendFor } from './lib/backend/index.ts';
import { serverApiKey } from './lib/state/secrets.ts';
import { displayPath } from './lib/errors.ts';
import { readOwnership } from './lib/process/systemd.ts';
import type { Plan } from './lib/plan/index.ts';
import { originOf } from './lib/origin.ts';

export function statusTable(rows: ServiceStatus[]): string {
  const header = ['service', 'pid', 'url', 'running', 'healthy'];
  const healthy = { ready: 'yes', busy: 'busy (serving requests)', unresponsive: 'no (unresponsive)', stopped: 'no' } as const;
  const cells = rows.map((r) => [r.service, r.pid === undefined ? '-' : String(r.pid), r.url, r.health === 'stopped' ? 'no' : 'yes', healthy[r.health]]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  return [header, ...cells].map((row) => row.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()).join('\n');
}

/**
 * A profile whose file is gone (renamed, deleted, or only in another checkout) may still have a
 * server running: its record in the state folder says what and where.
 */
async function statusWithoutProfile(name: string): Promise<number> {
  const record = servingRecords(stateRootFor(process.env)).find((r) => r.profile === name);
  const running = record ? (await runningServers(stateRootFor(process.env))).some((r) => r.profile === name) : false;
  // Nothing recorded either: the loader's own message (the profiles there are, the closest name).
  if (!record) return statusOf(planFor());
  console.log(`profile ${name}: its file is gone (it was ${record.profileFiles.join(' + ')})`);
  console.log(`model-server  ${describeServing(record)}  ${running ? 'running' : 'not running'}`);
  if (running) console.log(`  it still serves ${record.models.map((m) => m.path).join(', ')}; restore the profile file (or run make down PROFILE=${name} in the checkout that has it) to stop it`);
  return 0;
}

await runMain(async () => {
  const name = profileName();
  if (!existsSync(join(profilesDir(REPO_ROOT, process.env), `${name}.yml`))) return statusWithoutProfile(name);
  return statusOf(planFor());
});

async function statusOf(plan: Plan): Promise<number> {
  const rows = [await runtimeFor(plan).status(plan)];
  if (plan.jupyter.enabled) rows.push(await jupyterStatus(plan));
  const worker = await workerStatus(plan);
  if (worker) rows.push(worker);
  console.log(`profile ${plan.profile.name} (runtime ${plan.runtime})`);
  console.log(statusTable(rows));
  for (const { runtime } of await formerServers(plan)) {
    console.log(`model-server: the ${runtime.describe(plan)} of runtime ${runtime.kind} (the profile's former runtime) still runs; make provision or make down stops it`);
  }
  const server = rows[0] as ServiceStatus;
  for (const line of await servingLines(plan, server.health !== 'stopped')) console.log(line);
  for (const row of rows) {
    if (row.note) console.log(`${row.service}: ${row.note}`);
    if (row.health === 'unresponsive') {
      console.log(`${row.service}: unresponsive: it holds its port and answers nothing, with no request in flight (hung, or stopped by kill -STOP / Ctrl-Z); make provision replaces it`);
    }
    if (row.stopped) {
      console.log(`\n${row.service}: ${row.stopped.message}`);
      if (row.logTail) console.log(row.logTail);
      console.log(`  run: ${row.stopped.hint}`);
    }
  }
  // A stack stopped on purpose (make down, or never started) is an answer, not a failure: make
  // would print its own "Error 3" under it. Something that crashed or hangs still fails (3).
  const troubled = rows.filter((r) => r.health === 'unresponsive' || (r.health === 'stopped' && r.stopped));
  const stopped = rows.filter((r) => r.health === 'stopped' && !r.stopped);
  if (stopped.length && !troubled.length) console.log(`\n${stopped.length === rows.length ? 'nothing runs' : `${stopped.map((r) => r.service).join(' and ')} not running`} for profile ${plan.profile.name}: make provision starts ${stopped.length === 1 ? 'it' : 'them'}`);
  return troubled.length ? 3 : 0;
}

/** What a running server offers beyond the API: its chat page (and how it gets the key), whether it sleeps. */
async function servingLines(plan: Plan, running: boolean): Promise<string[]> {
  const lines: string[] = [];
  const owner = readOwnership(plan.paths.stateDir);
  if (owner) lines.push(`run by systemd: ${Object.values(owner.units).join(', ')} (user units; make service-status shows them)`);
  const origin = originOf(plan.server.baseUrl);
  if (!running) return lines;
  if (plan.server.webUi) lines.push(`chat page: ${origin}/ (llama.cpp's web UI${pageKeyNote(plan)})`);
  const idle = backendFor(plan).idleSleep;
  if (plan.server.idleSleepSeconds && idle) {
    const sleeping = await idle.isSleeping(origin, serverApiKey(plan, process.env, true));
    if (sleeping) lines.push(`model-server: sleeping (no request for ${plan.server.idleSleepSeconds} s: the model's memory is free; the next request loads it again)`);
  }
  return lines;
}

/** Where the page's user finds the key it asks for. */
function pageKeyNote(plan: Plan): string {
  const key = plan.server.apiKey;
  if (key.kind === 'generate') return `; it asks for the API key: it is in ${displayPath(key.file)}`;
  if (key.kind === 'env') return `; it asks for the API key: the value of $${key.variable}`;
  return '';
}
