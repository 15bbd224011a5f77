/**
 * The model spread over machines with llama.cpp's RPC: rpc-server (the worker, built from the same
 * pinned source with GGML_RPC) and the check llama-server's workers get before it starts.
 * ggml-rpc has no authentication or encryption and serves one client at a time; a worker that is
 * unreachable or speaks another protocol makes llama-server abort at start, so each is asked
 * first and the one that does not answer is named.
 */
import { WorkbenchError } from '../errors.ts';
import { cmakeProgramsArtifact } from '../llama-cpp/cmake-build.ts';
import { logHead, logTail } from '../process/log-tail.ts';
import { statePaths } from '../state/paths.ts';
import { rpcHello, RPC_PROTOCOL, type HelloAnswer } from './hello.ts';
import { describeSpread, readRpcSpread } from './spread.ts';
import type { CommandInput, Plan, RpcWorker } from '../plan/index.ts';

/**
 * rpc-server, from the build tree of the profile's llama-server (the same flags: seconds once
 * llama-server is built). This llama.cpp names its target and binary ggml-rpc-server
 * (tools/rpc/CMakeLists.txt); its README and usage line still say rpc-server.
 */
export const RPC_SERVER = 'ggml-rpc-server';
export const RPC_SERVER_BUILD = cmakeProgramsArtifact('rpc-server', [RPC_SERVER]);

/** What make rpc-worker runs: rpc-server on the one address the profile (or RPC_HOST) names. */
export function workerCommand(plan: CommandInput): string[] {
  const worker = plan.distributed?.worker;
  if (!worker) return [];
  return [RPC_SERVER_BUILD.program(plan, RPC_SERVER), '--host', worker.host, '--port', String(worker.port), '--threads', String(worker.threads), ...(worker.cache ? ['--cache'] : [])];
}

/** Why a worker's answer will not do, or undefined when it will. */
export function workerProblem(worker: RpcWorker, answer: HelloAnswer): string | undefined {
  switch (answer.state) {
    case 'answered':
      return answer.compatible ? undefined : `speaks RPC protocol ${answer.version}, this llama.cpp ${RPC_PROTOCOL.major}.${RPC_PROTOCOL.minor}.x: build the worker from the same llama_cpp.version`;
    case 'refused':
      return `cannot be reached (${answer.code}): is make rpc-worker running there, bound to ${worker.host}?`;
    case 'silent':
      return 'took the connection but did not answer the RPC handshake in 5 s: rpc-server serves one client at a time, so another llama-server may hold it (or it is no rpc-server)';
    case 'not-rpc':
      return `is no rpc-server: ${answer.detail}`;
  }
}

/** Every worker asked at once; throws naming each one that would not do. */
export async function assertWorkersAnswer(plan: Pick<Plan, 'distributed' | 'profile'>): Promise<void> {
  const workers = plan.distributed?.workers ?? [];
  const answers = await Promise.all(workers.map(async (worker) => ({ worker, answer: await rpcHello(worker.host, worker.port) })));
  const problems = answers.flatMap(({ worker, answer }) => {
    const problem = workerProblem(worker, answer);
    return problem ? [`${worker.endpoint} ${problem}`] : [];
  });
  if (problems.length) {
    throw new WorkbenchError(
      `the RPC worker${problems.length > 1 ? 's' : ''} of distributed.rpc_workers: ${problems.join('; ')}`,
      `start each with make rpc-worker PROFILE=${plan.profile.name} RPC_HOST=<its address> on its machine, or remove it from distributed.rpc_workers in ${plan.profile.files.at(-1) ?? 'the profile'}`,
    );
  }
}


/** How the running server spread the model over its workers (its loading report); undefined without workers. */
export function workersSpread(plan: Pick<Plan, 'distributed' | 'paths'>): { line: string; missing: string[] } | undefined {
  const workers = plan.distributed?.workers ?? [];
  if (!workers.length) return undefined;
  return describeSpread(readRpcSpread(logHead(statePaths(plan).serverLog)), workers);
}

/**
 * After the server ended by itself: which workers no longer answer. ggml-rpc aborts llama-server
 * when a worker's connection breaks ("Remote RPC server crashed or returned malformed
 * response"), so a dropped worker ends every request in flight at once rather than hanging them.
 */
export async function droppedWorkers(plan: Pick<Plan, 'distributed' | 'paths'>): Promise<string | undefined> {
  const workers = plan.distributed?.workers ?? [];
  if (!workers.length) return undefined;
  const aborted = /Remote RPC server crashed or returned malformed response/.test(logTail(statePaths(plan).serverLog, 400));
  const answers = await Promise.all(workers.map(async (worker) => ({ worker, problem: workerProblem(worker, await rpcHello(worker.host, worker.port, 2000)) })));
  const gone = answers.filter((a) => a.problem).map((a) => `${a.worker.endpoint} ${a.problem}`);
  if (!aborted && !gone.length) return undefined;
  return `${aborted ? 'an RPC worker dropped while it served (llama.cpp ends the server then: "Remote RPC server crashed or returned malformed response")' : 'an RPC worker does not answer'}${gone.length ? `; now: ${gone.join('; ')}` : '; every worker answers again: make provision starts the server'}`;
}
