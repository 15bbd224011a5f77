/**
 * llama.cpp's own llama-server, from the same pinned source: its argv and environment for a plan.
 * The profile's llama-cpp-python chat format maps to llama.cpp's template names; without one the
 * GGUF's own template is used (--jinja). The API key travels as LLAMA_API_KEY, never on argv.
 */
import { WorkbenchError } from '../../errors.ts';
import { GUIDE_MODEL_NAMES } from '../../guide.ts';
import type { Plan, PlanModel } from '../../profile/plan.ts';

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

export function chatTemplateArgs(chatFormat: string | undefined, field = 'model.chat_format'): string[] {
  if (chatFormat === undefined) return ['--jinja'];
  const template = CHAT_TEMPLATES[chatFormat];
  if (!template) {
    throw new WorkbenchError(
      `${field} "${chatFormat}" has no llama-server template`,
      `use one of ${Object.keys(CHAT_TEMPLATES).join(', ')}, leave chat_format out (the GGUF's own template), or server.backend: llama-cpp-python`,
    );
  }
  return ['--chat-template', template];
}

/** What every instance runs with, whether it serves one model or is one of the router's. */
function instanceArgs(plan: Plan, model: PlanModel, threads = true): string[] {
  const index = plan.models.indexOf(model);
  const field = index > 0 ? `extra_models[${index - 1}].chat_format` : 'model.chat_format';
  const { server } = plan;
  return [
    // The context is shared by the slots: each slot gets n_ctx, as with llama-cpp-python.
    '--ctx-size', String(model.nCtx * server.parallel),
    '--parallel', String(server.parallel),
    ...(threads ? ['--threads', String(server.nThreads), '--threads-batch', String(server.nThreadsBatch)] : []),
    // One instance serves chat, streaming and pooled embeddings (tried with this commit).
    '--embeddings',
    '--pooling', model.pooling,
    ...chatTemplateArgs(model.chatFormat, field),
    // A GPU build offloads; auto lets llama.cpp fit the layers to the device's free memory (--fit).
    // Trace verbosity on a GPU build: this llama.cpp logs the device it chose and "offloaded N/M
    // layers" only there, and step 40 reads them to verify the offload (accelerator/offload.ts).
    ...(plan.accelerator.gpuLayers !== undefined ? ['--n-gpu-layers', String(plan.accelerator.gpuLayers), '--log-verbosity', '4'] : []),
    // --no-repack also keeps weights out of the AMX buffer, which crashes at warm-up (plan.server.weightRepack).
    ...(server.weightRepack ? [] : ['--no-repack']),
  ];
}

export interface LlamaServerArgsOptions {
  modelPath: string;
  /** Native: the profile's host. In a container: all interfaces (the host publishes the port). */
  inContainer?: boolean;
}

export function llamaServerArgs(plan: Plan, options: LlamaServerArgsOptions): string[] {
  const { model, server } = plan;
  if (plan.models.length > 1) throw new Error('llamaServerArgs serves one model; several go through routerArgs');
  const inContainer = options.inContainer === true;
  return [
    '--model', options.modelPath,
    '--alias', model.alias,
    // An image names threads only when the profile does: this machine's cores are no fact about
    // the one it runs on (llama-server then uses that machine's cores).
    ...instanceArgs(plan, model, !inContainer || !server.threadsAuto),
    '--host', inContainer ? '0.0.0.0' : server.host,
    '--port', String(server.port),
    // Its web UI is not built (LLAMA_BUILD_UI=OFF); no requests for it.
    '--no-webui',
    ...server.extraArgs,
  ];
}

/**
 * Several models (extra_models): llama-server's router mode. The router answers on the
 * profile's port and runs one child llama-server per model (in its process group, on loopback
 * ports of its own), routing each request by its `model` field. A preset section per model, named
 * by its alias, holds that model's arguments; every model loads at start and none is unloaded
 * (models-max = their number). The router refuses names it does not know, so the first model also
 * answers to the guide's OpenAI names, as a single-model server does.
 */
export function routerArgs(plan: Plan, presetFile: string): string[] {
  const { server } = plan;
  return [
    '--models-preset', presetFile,
    '--models-max', String(plan.models.length),
    '--host', server.host,
    '--port', String(server.port),
    '--no-webui',
    ...server.extraArgs,
  ];
}

/** The router's presets: a section per model, named by its alias; keys are llama-server's long flags without the dashes. */
export function routerPresetSections(plan: Plan): Record<string, Record<string, string>> {
  return Object.fromEntries(
    plan.models.map((model, index) => {
      const section: Record<string, string> = { model: model.path };
      if (index === 0) section.alias = GUIDE_MODEL_NAMES.join(',');
      const args = instanceArgs(plan, model);
      for (let i = 0; i < args.length; i++) {
        const key = args[i]!.replace(/^--/, '');
        const value = args[i + 1];
        const isFlag = value === undefined || value.startsWith('--');
        section[key] = isFlag ? 'true' : value;
        if (!isFlag) i++;
      }
      section['load-on-startup'] = 'true';
      return [model.alias, section];
    }),
  );
}

/** The preset file (INI) the router reads. */
export function routerPreset(plan: Plan): string {
  const sections = Object.entries(routerPresetSections(plan)).map(([alias, section]) => {
    // One line per key: a line break in a value (a path) would add keys of its own.
    const broken = Object.values(section).find((value) => /[\r\n]/.test(value));
    if (broken !== undefined) throw new WorkbenchError(`the model path ${JSON.stringify(broken)} holds a line break`, 'rename the file or folder without one (model.source in the profile)');
    return [`[${alias}]`, ...Object.entries(section).map(([key, value]) => `${key} = ${value}`)].join('\n');
  });
  return `version = 1\n\n${sections.join('\n\n')}\n`;
}
