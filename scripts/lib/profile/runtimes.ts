/**
 * Each runtime's traits: the one place a runtime's name says what it can do. runtime/ holds how
 * each one starts, stops and reports its server (runtime/index.ts picks it by name); everything
 * else reads plan.runtimeTraits.
 */
import type { RuntimeName, RuntimeTraits } from '../plan/index.ts';

const TRAITS: Record<RuntimeName, RuntimeTraits> = {
  native: { buildsOnHost: true, inContainer: false, hasImageStep: false, servesSeveralModels: true, logsTo: 'state-file' },
  container: { buildsOnHost: false, inContainer: true, hasImageStep: true, servesSeveralModels: false, logsTo: 'engine' },
};

/** Every runtime's name: what a profile's runtime may say (profile/schema.ts). */
export const RUNTIME_NAMES = Object.keys(TRAITS) as [RuntimeName, ...RuntimeName[]];

export function runtimeTraits(name: RuntimeName): RuntimeTraits {
  return TRAITS[name];
}
