/** The llama_cpp.server argv for a plan, shared by the native runtime, the image and compose. */
import type { CommandInput, PlanModel } from '../../plan/index.ts';

export interface ServerArgsOptions {
  modelPath: string;
  /** Native runs pass --host; in a container HOST=0.0.0.0 comes from the image's ENV instead. */
  bindHost: boolean;
}

export function serverArgs(plan: CommandInput, options: ServerArgsOptions): string[] {
  const { model, server } = plan;
  const args = [
    // Read by our launcher: AMX buffers crash this llama.cpp (plan.server.weightRepack says why).
    ...(server.weightRepack ? [] : ['--no_extra_buffers']),
    '--model', options.modelPath,
    '--model_alias', model.alias,
    '--n_ctx', String(model.nCtx),
    // Off by default since 0.2.80: /v1/embeddings then answers 500 (docs/decisions.md#the-image-and-the-embeddings-fix).
    '--embedding', 'true',
    // Read by our launcher (serve.py), not by llama_cpp.server (docs/decisions.md#llama_cppserver).
    '--pooling', model.pooling,
    // By default a new request cuts off the stream in progress; a workstation serving a
    // notebook and other clients should queue them instead.
    '--interrupt_requests', 'false',
    // Off by default in llama_cpp.server; reproducible answers need its one-path kernel (plan.server.reproducible).
    ...(server.reproducible ? ['--flash_attn', 'true'] : []),
  ];
  const chatFormat = namedChatFormat(model);
  if (chatFormat) args.push('--chat_format', chatFormat);
  // Decode and prompt apart: llama_cpp's default (half the cores for both) halves prompt speed.
  // A rendered image or deployment file names threads only when the profile does: this
  // machine's core count is no fact about the one it runs on.
  if (options.bindHost || !server.threadsAuto) args.push('--n_threads', String(server.nThreads), '--n_threads_batch', String(server.nThreadsBatch));
  if (options.bindHost) args.push('--host', server.host);
  if (plan.accelerator.gpuLayers !== undefined) args.push('--n_gpu_layers', String(gpuLayersNumber(plan.accelerator.gpuLayers)));
  args.push('--port', String(server.port), ...server.extraArgs);
  return args;
}

/** llama-cpp-python has no automatic fit: auto is -1, every layer (llama.cpp then fails to load what does not fit). */
function gpuLayersNumber(layers: 'auto' | number): number {
  return layers === 'auto' ? -1 : layers;
}

/**
 * Several models (extra_models): llama_cpp.server takes them only from a config file. Ours adds
 * each model's `pooling`, which serve.py takes out before llama_cpp reads the rest; the API key
 * is not in it (serve.py takes API_KEY from the environment). llama_cpp.server keeps one model
 * loaded at a time and swaps on a request naming another; an unknown name gets the first.
 */
export function serverConfig(plan: CommandInput): Record<string, unknown> {
  const { server } = plan;
  return {
    host: server.host,
    port: server.port,
    interrupt_requests: false,
    models: plan.models.map((model) => ({
      model: model.path,
      model_alias: model.alias,
      n_ctx: model.nCtx,
      embedding: true,
      pooling: model.pooling,
      ...(server.reproducible ? { flash_attn: true } : {}),
      ...(namedChatFormat(model) ? { chat_format: namedChatFormat(model) } : {}),
      // Native only (checkModels): this machine's cores are the ones it runs on.
      n_threads: server.nThreads,
      n_threads_batch: server.nThreadsBatch,
      ...(plan.accelerator.gpuLayers !== undefined ? { n_gpu_layers: gpuLayersNumber(plan.accelerator.gpuLayers) } : {}),
    })),
  };
}

/**
 * The chat format llama_cpp.server is told: only one the profile names. Without one it reads the
 * GGUF's own template (Jinja2ChatFormatter), and our launcher answers tools with a grammar whatever
 * the template, so a family detected for llama-server changes nothing here.
 */
export function namedChatFormat(model: Pick<PlanModel, 'chatFormat' | 'chatFormatFrom'>): string | undefined {
  return model.chatFormatFrom === 'profile' ? model.chatFormat : undefined;
}
