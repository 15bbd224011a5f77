/** Picks the runtime a plan asks for, and finds the servers of the runtimes it no longer asks for. */
import type { Plan } from '../profile/plan.ts';
import { containerRuntime } from './container.ts';
import { nativeRuntime } from './native.ts';
import type { ServerRuntime, ServiceStatus } from './types.ts';

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
