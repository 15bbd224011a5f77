/** The llama_cpp.server argv for a plan, shared by the native runtime, the image and compose. */
import type { Plan } from '../profile/plan.ts';

export interface ServerArgsOptions {
  modelPath: string;
  /** Native runs pass --host; in a container HOST=0.0.0.0 comes from the image's ENV instead. */
  bindHost: boolean;
}

export function serverArgs(plan: Plan, options: ServerArgsOptions): string[] {
  const { model, server } = plan;
  const args = [
    '--model', options.modelPath,
    '--model_alias', model.alias,
    '--n_ctx', String(model.nCtx),
    // Off by default since 0.2.80: /v1/embeddings then answers 500 (FIELD-NOTES §2).
    '--embedding', 'true',
    // Read by our launcher (serve.py), not by llama_cpp.server (FIELD-NOTES §3).
    '--pooling', model.pooling,
    // By default a new request cuts off the stream in progress; a workstation serving a
    // notebook and other clients should queue them instead.
    '--interrupt_requests', 'false',
  ];
  if (model.chatFormat) args.push('--chat_format', model.chatFormat);
  // Decode and prompt apart: llama_cpp's default (half the cores for both) halves prompt speed.
  // A rendered image or deployment file names threads only when the profile does: this
  // machine's core count is no fact about the one it runs on.
  if (options.bindHost || !server.threadsAuto) args.push('--n_threads', String(server.nThreads), '--n_threads_batch', String(server.nThreadsBatch));
  if (options.bindHost) args.push('--host', server.host);
  args.push('--port', String(server.port), ...server.extraArgs);
  return args;
}
