#!/usr/bin/env -S npx tsx
/**
 * `make rpc-worker`: this machine as an RPC worker of a profile whose model is spread over
 * machines (distributed.rpc_workers on the server's side): rpc-server from the same pinned source
 * and accelerator choice, bound to the one address distributed.worker.host (or RPC_HOST) names.
 */
import { previewBackgroundService } from './lib/process/service.ts';
import { startWorker, workerService } from './lib/rpc/worker-service.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { isMain, runStepMain, withSpinner, type Step } from './lib/step.ts';

export const rpcWorkerStep: Step = {
  name: 'rpc-worker',
  preview: (plan) => previewBackgroundService(workerService(plan)),
  async run(plan) {
    ensureStateDir(plan);
    return withSpinner(`rpc-server on ${plan.distributed?.worker.endpoint ?? 'this machine'}`, () => startWorker(plan));
  },
};

if (isMain(import.meta.url)) await runStepMain(rpcWorkerStep);
