/**
 * llama.cpp's own llama-server, from the same pinned source: its argv and environment for a plan.
 * The profile's llama-cpp-python chat format maps to llama.cpp's template names; without one the
 * GGUF's own template is used (--jinja). The API key travels as LLAMA_API_KEY, never on argv.
 */
import { join } from 'node:path';
import { WorkbenchError } from '../../errors.ts';
import { GUIDE_MODEL_NAMES } from '../../guide.ts';
import type { ToolRoute } from '../types.ts';
import type { CommandInput, PlanModel } from '../../plan/index.ts';

/**
 * llama-cpp-python chat_format -> what llama-server renders it with: our Jinja template with tools
 * (templates/chat/<file>) where llama.cpp's built-in template for it has none (a built-in template
 * takes no `tools`: llama-server refuses them without --jinja), else llama.cpp's built-in
 * template by name (src/llama-chat.cpp of the vendored tree).
 */
export const CHAT_TEMPLATES: Record<string, { file: string } | { builtin: string }> = {
  'llama-2': { file: 'llama-2-tools.jinja' },
  'llama-3': { builtin: 'llama3' },
  chatml: { file: 'chatml-tools.jinja' },
  vicuna: { builtin: 'vicuna' },
  gemma: { file: 'gemma-tools.jinja' },
  'mistral-instruct': { builtin: 'mistral-v1' },
  zephyr: { builtin: 'zephyr' },
  phi3: { builtin: 'phi3' },
  openchat: { builtin: 'openchat' },
  qwen: { file: 'chatml-tools.jinja' },
};

/**
 * What llama-server renders a model's chat with: our template with tools, llama.cpp's built-in by
 * name, or (undefined) the GGUF's own through --jinja. A family detected from the GGUF for which
 * we have no tool template keeps the model's own template: a built-in one would add nothing.
 */
function servedTemplate(model: Pick<PlanModel, 'chatFormat' | 'chatFormatFrom'>): { file: string } | { builtin: string } | undefined {
  if (model.chatFormat === undefined) return undefined;
  const template = CHAT_TEMPLATES[model.chatFormat];
  if (model.chatFormatFrom === 'detected' && !(template && 'file' in template)) return undefined;
  return template;
}

const TOOL_FAMILIES = Object.entries(CHAT_TEMPLATES).flatMap(([name, t]) => ('file' in t ? [name] : []));

/** How a model's `tools` are answered on llama-server (make doctor, make plan, the smoke report); `unsupported` says why they cannot be. */
export function toolRoute(model: Pick<PlanModel, 'chatFormat' | 'chatFormatFrom' | 'chatTemplate'>): ToolRoute {
  const template = servedTemplate(model);
  const fix = `set model.chat_format to the family the model was trained on (${TOOL_FAMILIES.join(', ')}) to use our template with tools`;
  if (template && 'file' in template) {
    const origin = model.chatFormatFrom === 'detected' ? `, the family of the GGUF's own template` : '';
    return { route: `templates/chat/${template.file} (${model.chatFormat}${origin}): the tools described, calls as <tool_call> JSON, a grammar when a call is required` };
  }
  if (template) return { route: `llama.cpp's built-in ${model.chatFormat} template`, unsupported: `llama.cpp's built-in ${model.chatFormat} template has no tools; ${fix}` };
  if (model.chatFormatFrom === 'pending') return { route: "chosen from the GGUF's own template once the model is fetched (chat_format: auto)" };
  if (model.chatTemplate?.describesTools) return { route: "the GGUF's own template, which describes tools" };
  const family = model.chatTemplate?.family ? `a ${model.chatTemplate.family} template` : 'a template of no family we know';
  return { route: `the GGUF's own template (${family})`, unsupported: `this model's chat template (${family}) describes no tools; ${fix}` };
}

/** The chat template options; `templatesDir` is where templates/chat/ is on the machine that runs the server. */
export function chatTemplateArgs(model: Pick<PlanModel, 'chatFormat' | 'chatFormatFrom'>, templatesDir: string, field = 'model.chat_format'): string[] {
  if (model.chatFormat !== undefined && !CHAT_TEMPLATES[model.chatFormat] && model.chatFormatFrom === 'profile') {
    throw new WorkbenchError(
      `${field} "${model.chatFormat}" has no llama-server template`,
      `use one of ${Object.keys(CHAT_TEMPLATES).join(', ')}, auto (the GGUF's own template, or its family's with tools), or server.backend: llama-cpp-python`,
    );
  }
  const template = servedTemplate(model);
  if (template === undefined) return ['--jinja'];
  return 'file' in template ? ['--jinja', '--chat-template-file', join(templatesDir, template.file)] : ['--chat-template', template.builtin];
}

/** Where the image keeps templates/chat/'s files (Dockerfile.llama-server.hbs copies them there). */
export const IMAGE_CHAT_TEMPLATES = '/usr/local/share/llm-workbench/chat';

/** The file of templates/chat/ a model's chat is rendered with, if any. */
export function chatTemplateFile(model: Pick<PlanModel, 'chatFormat' | 'chatFormatFrom'>): string | undefined {
  const template = servedTemplate(model);
  return template && 'file' in template ? template.file : undefined;
}

/** What every instance runs with, whether it serves one model or is one of the router's. */
function instanceArgs(plan: CommandInput, model: PlanModel, threads = true, templatesDir = plan.paths.chatTemplates): string[] {
  const index = plan.models.indexOf(model);
  const field = index > 0 ? `extra_models[${index - 1}].chat_format` : 'model.chat_format';
  const { server } = plan;
  return [
    // The context is shared by the slots: each slot gets n_ctx, as with llama-cpp-python.
    '--ctx-size', String(model.nCtx * server.parallel),
    '--parallel', String(server.parallel),
    ...(threads ? ['--threads', String(server.nThreads), '--threads-batch', String(server.nThreadsBatch)] : []),
    // Reproducible answers need flash attention, whose CPU kernel takes one path for every query
    // (plan.server.reproducible); without it the attention's matrix products differ by batch shape.
    ...(server.reproducible ? ['--flash-attn', 'on'] : []),
    // One instance serves chat, streaming and pooled embeddings (tried with this commit).
    '--embeddings',
    '--pooling', model.pooling,
    ...chatTemplateArgs(model, templatesDir, field),
    // A GPU build offloads; auto lets llama.cpp fit the layers to the device's free memory (--fit).
    // Trace verbosity on a GPU build: this llama.cpp logs the device it chose and "offloaded N/M
    // layers" only there, and step 40 reads them to verify the offload (accelerator/offload.ts).
    ...(plan.accelerator.gpuLayers !== undefined ? ['--n-gpu-layers', String(plan.accelerator.gpuLayers)] : []),
    // The same for layers on RPC workers: the loading report names each device and what it holds.
    ...(plan.accelerator.gpuLayers !== undefined || plan.distributed?.workers.length ? ['--log-verbosity', '4'] : []),
    // --no-repack also keeps weights out of the AMX buffer, which crashes at warm-up (plan.server.weightRepack).
    ...(server.weightRepack ? [] : ['--no-repack']),
    ...(server.speculative === 'off' ? [] : ['--spec-type', server.speculative]),
    // The layers spread over the workers and this machine's device, by free memory (llama.cpp's own split).
    ...(plan.distributed?.workers.length ? ['--rpc', plan.distributed.workers.map((worker) => worker.endpoint).join(',')] : []),
  ];
}

export interface LlamaServerArgsOptions {
  modelPath: string;
  /** Native: the profile's host. In a container: all interfaces (the host publishes the port). */
  inContainer?: boolean;
}

export function llamaServerArgs(plan: CommandInput, options: LlamaServerArgsOptions): string[] {
  const { model, server } = plan;
  if (plan.models.length > 1) throw new Error('llamaServerArgs serves one model; several go through routerArgs');
  const inContainer = options.inContainer === true;
  return [
    '--model', options.modelPath,
    '--alias', model.alias,
    // An image names threads only when the profile does: this machine's cores are no fact about
    // the one it runs on (llama-server then uses that machine's cores).
    ...instanceArgs(plan, model, !inContainer || !server.threadsAuto, inContainer ? IMAGE_CHAT_TEMPLATES : plan.paths.chatTemplates),
    '--host', inContainer ? '0.0.0.0' : server.host,
    '--port', String(server.port),
    ...pageAndSleepArgs(plan),
    ...(server.metrics ? ['--metrics'] : []),
    ...server.extraArgs,
  ];
}

/**
 * The chat page (embedded in the build when the plan has it: cmake-build.ts) and idle sleep. A
 * build without the page is told so too: its root would answer a blank page instead of a 404.
 */
function pageAndSleepArgs(plan: CommandInput): string[] {
  const { server } = plan;
  return [...(server.webUi ? [] : ['--no-webui']), ...(server.idleSleepSeconds ? ['--sleep-idle-seconds', String(server.idleSleepSeconds)] : [])];
}

/**
 * Several models (extra_models): llama-server's router mode. The router answers on the
 * profile's port and runs one child llama-server per model (in its process group, on loopback
 * ports of its own), routing each request by its `model` field. A preset section per model, named
 * by its alias, holds that model's arguments; every model loads at start and none is unloaded
 * (models-max = their number). The router refuses names it does not know, so the first model also
 * answers to the guide's OpenAI names, as a single-model server does.
 */
export function routerArgs(plan: CommandInput, presetFile: string): string[] {
  const { server } = plan;
  return [
    '--models-preset', presetFile,
    '--models-max', String(plan.models.length),
    '--host', server.host,
    '--port', String(server.port),
    ...pageAndSleepArgs(plan),
    ...(server.metrics ? ['--metrics'] : []),
    ...server.extraArgs,
  ];
}

/** The router's presets: a section per model, named by its alias; keys are llama-server's long flags without the dashes. */
export function routerPresetSections(plan: CommandInput): Record<string, Record<string, string>> {
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
export function routerPreset(plan: CommandInput): string {
  const sections = Object.entries(routerPresetSections(plan)).map(([alias, section]) => {
    // One line per key: a line break in a value (a path) would add keys of its own.
    const broken = Object.values(section).find((value) => /[\r\n]/.test(value));
    if (broken !== undefined) throw new WorkbenchError(`the model path ${JSON.stringify(broken)} holds a line break`, 'rename the file or folder without one (model.source in the profile)');
    return [`[${alias}]`, ...Object.entries(section).map(([key, value]) => `${key} = ${value}`)].join('\n');
  });
  return `version = 1\n\n${sections.join('\n\n')}\n`;
}
