/**
 * The raw engine: llama-cpp-python in-process (checks/bench/raw_bench.py) in a Python with llama_cpp,
 * with the same model, context, threads and prompts as the served runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { WorkbenchError } from '../../scripts/lib/errors.ts';
import { rawEnginePython } from '../../scripts/lib/backend/index.ts';
import { REPO_ROOT } from '../../scripts/lib/profile/index.ts';
import type { Message, RunMeasure } from './measure.ts';
import type { Plan } from '../../scripts/lib/plan/index.ts';

/** The same prompt, tagged with its run number (see bench.ts). */
type Tag = (messages: Message[], run: number) => Message[];

export async function rawEngine(plan: Plan, prompts: Message[][], runsPerPrompt: number, maxTokens: number, promptCounts: number[], tagged: Tag) {
  // The profile's env when it has llama_cpp, else the bench's own venv from the same wheel.
  const python = await rawEnginePython(plan);
  const dir = mkdtempSync(join(tmpdir(), 'wb-bench-'));
  try {
    const request = join(dir, 'request.json');
    writeFileSync(
      request,
      JSON.stringify({
        model: plan.model.path,
        n_ctx: plan.model.nCtx,
        n_threads: plan.server.nThreads,
        n_threads_batch: plan.server.nThreadsBatch,
        chat_format: plan.model.chatFormat ?? null,
        pooling: plan.model.pooling,
        // The same engine as served: no AMX buffers where they crash (plan.server.weightRepack).
        extra_buffers: plan.server.weightRepack,
        // And flash attention where answers are reproducible (plan.server.reproducible).
        flash_attn: plan.server.reproducible,
        max_tokens: maxTokens,
        warmup: prompts.slice(0, 1),
        runs: prompts.flatMap((p) => Array.from({ length: runsPerPrompt }, (_, run) => tagged(p, run))),
      }),
    );
    const result = await execa(python, [join(REPO_ROOT, 'checks', 'bench', 'raw_bench.py'), request], { reject: false, env: { ...process.env, ...plan.server.engineEnv } });
    if (result.failed) throw new WorkbenchError('the raw engine benchmark failed', 'read its output below', { details: String(result.stderr).split('\n').slice(-15).join('\n') });
    const raw = JSON.parse(String(result.stdout).trim().split('\n').pop() ?? '{}') as {
      load_seconds: number;
      llama_cpp_version: string;
      runs: { ttft_ms: number; e2e_ms: number; decode_seconds: number; completion_tokens: number; finish_reason: string; chunks: number }[];
    };
    const runs: RunMeasure[] = raw.runs.map((r, i) => {
      const promptIndex = Math.floor(i / runsPerPrompt);
      const prompt = prompts[promptIndex]!;
      const tokens = promptCounts[promptIndex]!;
      return {
        prompt: prompt[prompt.length - 1]!.content,
        promptTokens: tokens,
        completionTokens: r.completion_tokens,
        finishReason: r.finish_reason,
        chunks: r.chunks,
        ttftMs: r.ttft_ms,
        e2eMs: r.e2e_ms,
        decodeTokensPerSecond: r.completion_tokens > 1 && r.decode_seconds > 0 ? (r.completion_tokens - 1) / r.decode_seconds : NaN,
        promptTokensPerSecond: tokens / (r.ttft_ms / 1000),
        itlMs: NaN,
      };
    });
    return { loadSeconds: raw.load_seconds, version: raw.llama_cpp_version, runs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
