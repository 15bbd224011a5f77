/** Picks the runtime a plan asks for. */
import type { Plan } from '../profile/plan.ts';
import { containerRuntime } from './container.ts';
import { nativeRuntime } from './native.ts';
import type { ServerRuntime } from './types.ts';

const RUNTIMES: Record<Plan['runtime'], ServerRuntime> = {
  native: nativeRuntime,
  container: containerRuntime,
};

export function runtimeFor(plan: Plan): ServerRuntime {
  return RUNTIMES[plan.runtime];
}
