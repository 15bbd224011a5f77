/** Picks the runtime a plan asks for. */
import { WorkbenchError } from '../errors.ts';
import type { Plan } from '../profile/plan.ts';
import { nativeRuntime } from './native.ts';
import type { ServerRuntime } from './types.ts';

const RUNTIMES: Partial<Record<Plan['runtime'], ServerRuntime>> = {
  native: nativeRuntime,
};

export function runtimeFor(plan: Plan): ServerRuntime {
  const runtime = RUNTIMES[plan.runtime];
  if (!runtime) throw new WorkbenchError(`runtime "${plan.runtime}" is not available in this version`, 'set runtime: native in the profile');
  return runtime;
}
