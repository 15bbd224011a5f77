/**
 * What the host compiles from llama.cpp for a plan: the llama-cpp-python wheel (native, the
 * guide's backend), llama-server (native, llama.cpp's own), or nothing (the image serves).
 */
import type { Plan } from '../profile/plan.ts';
import { cachedLlamaServer, llamaServerKey } from './llama-server-build.ts';
import { cachedWheel, wheelKey } from './wheel.ts';

export function needsLlamaServer(plan: Plan): boolean {
  return plan.runtime === 'native' && plan.server.backend === 'llama-server';
}

/** What the host compiles from llama.cpp for this plan. */
export function hostBuild(plan: Plan): string {
  if (plan.llamaCpp.onHost) return wheelKey(plan, 'native');
  return plan.runtime === 'native' && plan.server.backend === 'llama-server' ? `llama-server ${llamaServerKey(plan)}` : 'none (the image serves)';
}

/** `; compiles ... first (minutes)` when the build is not cached yet, for previews. */
export function pendingHostBuild(plan: Plan): string {
  if (plan.llamaCpp.onHost && !cachedWheel(plan)) return `; compiles llama-cpp-python ${plan.llamaCpp.version} first (minutes)`;
  if (needsLlamaServer(plan) && !cachedLlamaServer(plan)) return `; builds llama-server from llama-cpp-python ${plan.llamaCpp.version}'s llama.cpp first (minutes)`;
  return '';
}
