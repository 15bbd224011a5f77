/** Picks the runtime a plan asks for, and finds the servers of the runtimes it no longer asks for. */
import { existsSync } from 'node:fs';
import { engineAt } from '../engine/index.ts';
import { isProcessAlive } from '../state/process-identity.ts';
import { readServingRecord, servingRecords, writeServingRecord, type ServingHandle, type ServingRecord } from '../state/serving.ts';
import { containerRuntime } from './container.ts';
import { nativeRuntime } from './native.ts';
import type { ServerRuntime, ServiceStatus } from './types.ts';
import type { Plan } from '../plan/index.ts';

const RUNTIMES: Record<Plan['runtime'], ServerRuntime> = {
  native: nativeRuntime,
  container: containerRuntime,
};

export function runtimeFor(plan: Plan): ServerRuntime {
  return RUNTIMES[plan.runtime];
}

/**
 * The runtimes this profile does not use now but that recorded a server for it: a profile that
 * switched `runtime:` (native to container, or back) would otherwise leave the old server on
 * the port, and preflight would call our own server another program.
 */
export function formerRuntimes(plan: Plan): ServerRuntime[] {
  return Object.values(RUNTIMES).filter((runtime) => runtime.kind !== plan.runtime && runtime.hasRecord(plan));
}

/** The servers of former runtimes that still run, with their status. */
export async function formerServers(plan: Plan): Promise<{ runtime: ServerRuntime; status: ServiceStatus }[]> {
  const found = [];
  for (const runtime of formerRuntimes(plan)) {
    const status = await runtime.status(plan);
    if (status.health !== 'stopped') found.push({ runtime, status });
  }
  return found;
}

/**
 * Stops the server of every former runtime; returns one line for each one stopped, such as
 * "stopped the native server (pid 123): runtime is container now".
 */
export async function stopFormerServers(plan: Plan): Promise<string[]> {
  const lines: string[] = [];
  for (const runtime of formerRuntimes(plan)) {
    const what = runtime.describe(plan);
    if (await runtime.stop(plan)) lines.push(`stopped the ${what}: runtime is ${plan.runtime} now`);
  }
  return lines;
}

/** Step 40, once its server answers: what it serves and how to tell it still runs, for commands that have no profile for it. */
export async function recordServing(plan: Plan): Promise<void> {
  const handle = await runtimeFor(plan).servingHandle(plan);
  if (!handle) return;
  // The same server as last time keeps when it started: who came first decides how cores are shared (coreSharers).
  const former = readServingRecord(plan.paths.stateDir);
  const sameServer = former !== undefined && JSON.stringify(former.handle) === JSON.stringify(handle);
  writeServingRecord(plan.paths.stateDir, {
    profile: plan.profile.name,
    profileFiles: plan.profile.files,
    url: plan.server.baseUrl,
    handle,
    models: plan.models.map((model) => ({ id: model.id, path: model.path, ...(model.sha256 ? { sha256: model.sha256 } : {}) })),
    startedAt: sameServer ? former.startedAt : new Date().toISOString(),
  });
}

async function stillServes(handle: ServingHandle): Promise<boolean> {
  if (handle.kind === 'process') return isProcessAlive(handle.pid, handle.startTime);
  // The engine it ran under may be gone since (uninstalled, its daemon stopped): then so is the container.
  if (!existsSync(handle.binary)) return false;
  try {
    return (await engineAt(handle.engine, handle.binary).inspect(handle.name))?.running === true;
  } catch {
    return false;
  }
}

/** The servers that run now, of every profile of this user, whatever checkout started them and whether or not their profile file still exists. */
export async function runningServers(stateRoot: string): Promise<ServingRecord[]> {
  const running: ServingRecord[] = [];
  for (const record of servingRecords(stateRoot)) if (await stillServes(record.handle)) running.push(record);
  return running;
}
