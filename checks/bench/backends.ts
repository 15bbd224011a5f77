/**
 * The other side of the comparison: llama.cpp's own llama-server started for the bench alone (a
 * free loopback port, the profile's model and threads, the user's stack untouched), and
 * llama-bench's pp/tg at the same threads: the C++ limit a served endpoint is measured against.
 * Both come from the same pinned llama.cpp source as the wheel (built and cached on first use).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { WorkbenchError } from '../../scripts/lib/errors.ts';
import { llamaServerArgs } from '../../scripts/lib/llama-cpp/llama-server-args.ts';
import { ensureLlamaServer } from '../../scripts/lib/llama-cpp/llama-server-build.ts';
import { freePort } from '../../scripts/lib/process/ports.ts';
import { which } from '../../scripts/lib/process/run.ts';
import type { Plan } from '../../scripts/lib/profile/plan.ts';
import { resolveParallel } from '../../scripts/lib/profile/rules.ts';

export async function llamaServerBinaries(plan: Plan): Promise<{ server: string; bench: string }> {
  const python = which('python3');
  if (!python) throw new WorkbenchError('no python3 on PATH to build llama-server with', 'install Python 3 with venv support');
  return ensureLlamaServer(plan, { path: python });
}

/** Runs `fn` against a llama-server of the bench's own, then stops it. */
export async function withTemporaryLlamaServer<T>(plan: Plan, binary: string, fn: (baseUrl: string, parallel: number) => Promise<T>): Promise<T> {
  const port = await freePort();
  const parallel = resolveParallel('auto', plan.model.sizeMb);
  const benchPlan: Plan = { ...plan, models: [plan.model], server: { ...plan.server, host: '127.0.0.1', port, parallel, extraArgs: [], backend: 'llama-server' } };
  const child = execa(binary, llamaServerArgs(benchPlan, { modelPath: plan.model.path }), { reject: false, all: true, buffer: true, env: { PATH: process.env.PATH ?? '' }, extendEnv: false });
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  try {
    const deadline = Date.now() + 180_000;
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
      if (ready) break;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new WorkbenchError('the bench\'s llama-server did not come up', 'its output is below', { details: String((await child).all ?? '').split('\n').slice(-15).join('\n') });
      }
      await sleep(250);
    }
    return await fn(baseUrl, parallel);
  } finally {
    child.kill('SIGTERM');
    await child;
  }
}

export interface CppLimit {
  threads: number;
  promptTokens: number;
  genTokens: number;
  /** llama-bench pp<promptTokens>, tokens/s. */
  ppTokensPerSecond: number;
  /** llama-bench tg<genTokens>, tokens/s: the decode speed no server can beat. */
  tgTokensPerSecond: number;
}

/** llama-bench at the profile's threads: prompt processing and generation, three repetitions. */
export async function llamaBench(plan: Plan, binary: string, genTokens: number): Promise<CppLimit> {
  const threads = plan.server.nThreads;
  const result = await execa(binary, ['-m', plan.model.path, '-t', String(threads), '-p', '64', '-n', String(genTokens), '-r', '3', '-o', 'json'], { reject: false });
  if (result.failed) throw new WorkbenchError('llama-bench failed', 'its output is below', { details: String(result.stderr).split('\n').slice(-15).join('\n') });
  const rows = JSON.parse(String(result.stdout)) as { n_prompt: number; n_gen: number; avg_ts: number }[];
  const pp = rows.find((r) => r.n_prompt > 0 && r.n_gen === 0);
  const tg = rows.find((r) => r.n_gen > 0 && r.n_prompt === 0);
  if (!pp || !tg) throw new WorkbenchError('llama-bench printed no pp/tg rows', 'run it by hand with -o json to see why');
  return { threads, promptTokens: pp.n_prompt, genTokens: tg.n_gen, ppTokensPerSecond: pp.avg_ts, tgTokensPerSecond: tg.avg_ts };
}
