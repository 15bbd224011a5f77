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

// A function, not a constant: the backends import the plan's types and helpers that import this
// module back, so the table is built when first asked, after every module has loaded.
function backends(): Record<BackendName, ServingBackend> {
  return { 'llama-cpp-python': llamaCppPythonBackend, 'llama-server': llamaServerBackend };
}

export function backendNamed(name: BackendName): ServingBackend {
  return backends()[name];
}

export function backendFor(plan: Pick<Plan, 'server'>): ServingBackend {
  return backendNamed(plan.server.backend);
}

/** Every backend, the profile's first: what make bench measures side by side. */
export function backendsFrom(plan: Pick<Plan, 'server'>): ServingBackend[] {
  const all = Object.values(backends());
  return [backendFor(plan), ...all.filter((b) => b.name !== plan.server.backend)];
}

/** Every file name an image's build context may hold, of any backend (render removes the stale ones). */
export function imageContextFileNames(): string[] {
  return Object.values(backends()).flatMap((b) => b.image.contextFileNames);
}
