/** The serving backends by name: the one place a profile's `server.backend` picks one. */
import { llamaCppPythonBackend } from './llama-cpp-python/index.ts';
import { llamaServerBackend } from './llama-server/index.ts';
import type { ServingBackend } from './types.ts';
import type { BackendName, Plan } from '../plan/index.ts';

export type { ServingBackend } from './types.ts';

/**
 * The raw engine make bench measures the servers against is llama-cpp-python's in-process Llama,
 * whichever backend serves: a Python that has it (the profile's env, or a bench venv from the wheel).
 */
export { benchPython as rawEnginePython } from './llama-cpp-python/bench-env.ts';

const BACKENDS: Record<BackendName, ServingBackend> = { 'llama-cpp-python': llamaCppPythonBackend, 'llama-server': llamaServerBackend };

/** Every backend's name: what a profile's server.backend may say (profile/schema.ts). */
export const BACKEND_NAMES = Object.keys(BACKENDS) as [BackendName, ...BackendName[]];

export function backendNamed(name: BackendName): ServingBackend {
  return BACKENDS[name];
}

export function backendFor(plan: Pick<Plan, 'server'>): ServingBackend {
  return backendNamed(plan.server.backend);
}

/** Every backend, the profile's first: what make bench measures side by side. */
export function backendsFrom(plan: Pick<Plan, 'server'>): ServingBackend[] {
  const all = Object.values(BACKENDS);
  return [backendFor(plan), ...all.filter((b) => b.name !== plan.server.backend)];
}

/** Every file name an image's build context may hold, of any backend (render removes the stale ones). */
export function imageContextFileNames(): string[] {
  return Object.values(BACKENDS).flatMap((b) => b.image.contextFileNames);
}
