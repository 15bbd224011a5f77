/**
 * llama.cpp's own llama-server, from the same pinned source: its argv and environment for a plan.
 * The profile's llama-cpp-python chat format maps to llama.cpp's template names; without one the
 * GGUF's own template is used (--jinja). The API key travels as LLAMA_API_KEY, never on argv.
 */
import { WorkbenchError } from '../errors.ts';
import type { Plan } from '../profile/plan.ts';

/** llama-cpp-python chat_format -> llama.cpp --chat-template (src/llama-chat.cpp of the vendored tree). */
export const CHAT_TEMPLATES: Record<string, string> = {
  'llama-2': 'llama2-sys',
  'llama-3': 'llama3',
  chatml: 'chatml',
  vicuna: 'vicuna',
  gemma: 'gemma',
  'mistral-instruct': 'mistral-v1',
  zephyr: 'zephyr',
  phi3: 'phi3',
  openchat: 'openchat',
  qwen: 'chatml',
};

export function chatTemplateArgs(chatFormat: string | undefined): string[] {
  if (chatFormat === undefined) return ['--jinja'];
  const template = CHAT_TEMPLATES[chatFormat];
  if (!template) {
    throw new WorkbenchError(
      `model.chat_format "${chatFormat}" has no llama-server template`,
      `use one of ${Object.keys(CHAT_TEMPLATES).join(', ')}, leave chat_format out (the GGUF's own template), or server.backend: llama-cpp-python`,
    );
  }
  return ['--chat-template', template];
}

export function llamaServerArgs(plan: Plan, modelPath: string): string[] {
  const { model, server } = plan;
  return [
    '--model', modelPath,
    '--alias', model.alias,
    // The context is shared by the slots: each slot gets n_ctx, as with llama-cpp-python.
    '--ctx-size', String(model.nCtx * server.parallel),
    '--parallel', String(server.parallel),
    '--threads', String(server.nThreads),
    '--threads-batch', String(server.nThreadsBatch),
    // One instance serves chat, streaming and pooled embeddings (tried with this commit).
    '--embeddings',
    '--pooling', model.pooling,
    ...chatTemplateArgs(model.chatFormat),
    '--host', server.host,
    '--port', String(server.port),
    // Its web UI is not built (LLAMA_BUILD_UI=OFF); no requests for it.
    '--no-webui',
    ...server.extraArgs,
  ];
}
