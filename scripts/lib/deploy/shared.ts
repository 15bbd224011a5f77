/** What compose and kube deployments both need: the rendered file, the model, a ready server. */
import { existsSync } from 'node:fs';
import type { ContainerEngine } from '../engine/types.ts';
import { displayPath, WorkbenchError } from '../errors.ts';
import { modelIsListed, waitUntil } from '../process/readiness.ts';
import { readyTimeoutMs } from '../process/service.ts';
import { freshlyRendered } from '../render/render.ts';
import { serverApiKey } from '../state/secrets.ts';
import type { Plan } from '../plan/index.ts';

export function rendered(plan: Plan, file: string): string {
  if (plan.models.length > 1) {
    throw new WorkbenchError(`${file} serves one model; profile "${plan.profile.name}" lists ${plan.models.length} (extra_models), which run natively`, 'use make provision for it, or a profile without extra_models for compose and kube');
  }
  return freshlyRendered(plan, file);
}

export function requireModel(plan: Plan): void {
  if (!existsSync(plan.model.path)) throw new WorkbenchError(`the model ${displayPath(plan.model.path)} is not there yet`, 'run make model first');
}

export async function waitForServer(plan: Plan, what: string, engine: ContainerEngine, container: string): Promise<void> {
  const apiKey = serverApiKey(plan);
  await waitUntil(() => modelIsListed(plan.server.baseUrl, plan.model.alias, apiKey), {
    what,
    timeoutMs: readyTimeoutMs(),
    logName: `${engine.name} logs ${container}`,
    logTail: () => engine.logs(container, 30),
    isAlive: async () => (await engine.inspect(container))?.running === true,
    logsHint: `${engine.name} logs ${container} shows the whole log`,
  });
}

