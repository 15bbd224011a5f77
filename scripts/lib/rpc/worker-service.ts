/**
 * This machine as an RPC worker (make rpc-worker): rpc-server in the background like the model
 * server (a record, a log, replaced when its command changes), ready when it answers the handshake,
 * `busy` while a llama-server holds it, stopped by make down.
 */
import { WorkbenchError } from '../errors.ts';
import { argvFacts } from '../fingerprint.ts';
import { cmakeBuildKey } from '../llama-cpp/cmake-build.ts';
import { thisWsl } from '../machine/platform.ts';
import { currentBootId, readRecord, stopService } from '../process/background.ts';
import { logTail } from '../process/log-tail.ts';
import { baseEnv, ensureBackgroundService, serviceHealth, type BackgroundService, type ServiceStatus } from '../process/service.ts';
import { openConnections } from '../process/sockets.ts';
import { stoppedDetails } from '../process/why-stopped.ts';
import { statePaths } from '../state/paths.ts';
import { rpcHello } from './hello.ts';
import { RPC_SERVER, RPC_SERVER_BUILD, workerProblem } from './workers.ts';
import type { StepResult } from '../outcome.ts';
import type { Distributed, Plan } from '../plan/index.ts';

export function workerService(plan: Plan): BackgroundService {
  const worker = requireWorker(plan);
  const paths = statePaths(plan);
  return {
    service: 'rpc-worker',
    what: `rpc-server on ${worker.endpoint}`,
    argv: worker.command,
    // What the engine reads from its environment runs here too: the worker computes the layers it
    // holds (batch-invariant kernels for reproducible answers, the accelerator's device settings).
    env: baseEnv({ ...plan.accelerator.serverEnv, ...plan.server.engineEnv }),
    cwd: plan.paths.stateDir,
    recordFile: paths.rpcWorkerRecord,
    logFile: paths.rpcWorkerLog,
    facts: { ...argvFacts(worker.command, ['program']), 'llama.cpp build': `rpc-server ${cmakeBuildKey(plan, [RPC_SERVER])}` },
    url: `rpc://${worker.endpoint}`,
    port: { host: worker.host, port: worker.port, field: 'distributed.worker.port' },
    // A worker serving a llama-server answers no one else until it lets go (one client at a time):
    // a handshake would only wait in its accept queue, so a held connection reads as busy.
    isReady: async () => openConnections(worker.port) === 0 && workerProblem(worker, await rpcHello(worker.host, worker.port, 2000)) === undefined,
    logsHint: `the log is ${paths.rpcWorkerLog}; check distributed.worker (host, port) in the profile`,
  };
}

export async function startWorker(plan: Plan): Promise<StepResult> {
  const worker = requireWorker(plan);
  await RPC_SERVER_BUILD.ensure(plan);
  const { outcome, record, health } = await ensureBackgroundService(plan, workerService(plan));
  const serving = health === 'busy' ? '; serving a llama-server now: left alone' : '';
  return { outcome, detail: `rpc-server on ${worker.endpoint} (pid ${record.pid}, ${plan.accelerator.name}, ${worker.threads} threads${serving}); unauthenticated: anyone who reaches ${worker.endpoint} can run work on it` };
}

export function stopWorker(plan: Plan): Promise<boolean> {
  return stopService(statePaths(plan).rpcWorkerRecord);
}

function requireWorker(plan: Plan): Distributed['worker'] {
  if (!plan.distributed) {
    throw new WorkbenchError(
      `profile "${plan.profile.name}" has no distributed section: this machine is no RPC worker of it`,
      `add distributed: { worker: { host: <this machine's address facing the server> } } to ${plan.profile.files.at(-1) ?? 'the profile'} (or make rpc-worker RPC_HOST=<address>), and list <address>:50052 in the server's distributed.rpc_workers`,
    );
  }
  return plan.distributed.worker;
}

/** make status's row for this machine as a worker; undefined where make rpc-worker never ran. */
export async function workerStatus(plan: Plan): Promise<ServiceStatus | undefined> {
  const paths = statePaths(plan);
  const record = readRecord(paths.rpcWorkerRecord);
  if (!record || !plan.distributed) return undefined;
  const service = workerService(plan);
  const health = await serviceHealth(record, service.port.port, service.isReady);
  const why = stoppedDetails(record, health !== 'stopped', { bootId: currentBootId(), wsl: thisWsl() !== undefined }, (lines) => logTail(paths.rpcWorkerLog, lines));
  const note = health === 'busy' ? 'serving a llama-server (rpc-server takes one client at a time)' : undefined;
  return { service: 'rpc-worker', ...(health !== 'stopped' ? { pid: record.pid } : {}), url: record.url, health, ...why, ...(note ? { note } : {}) };
}
