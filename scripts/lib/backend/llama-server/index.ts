/**
 * llama.cpp's own llama-server, built from the llama.cpp tree in the pinned llama-cpp-python
 * sdist (the same commit as the wheel): one C++ binary, parallel slots with continuous batching,
 * /health, several models through its router. The embedded default: `make bench` measured it at
 * the engine's own speed where llama_cpp.server reached about 0.57 of it (docs/decisions.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFacts } from '../../fingerprint.ts';
import { cmakeBuildKey, cmakeProgramsArtifact, llamaCppCmakeArgs } from '../../llama-cpp/cmake-build.ts';
import { IMAGE_COMPILER_CACHE, imageCompilerCacheEnv } from '../../llama-cpp/compiler-cache.ts';
import { KEEP_ALIVE_PATCH } from '../../llama-cpp/keep-alive-patch.ts';
import { WEB_UI_CONTEXT_DIR } from '../../llama-cpp/web-ui.ts';
import { PATCH_SCRIPT_CONTEXT_FILE, PATCHES_CONTEXT_FILE, SOURCE_PATCHES } from '../../llama-cpp/source-patches.ts';
import { shellQuote, shellWords } from '../../render/quote.ts';
import { statePaths } from '../../state/paths.ts';
import type { ServingBackend } from '../types.ts';
import { CHAT_TEMPLATES, chatTemplateFile, IMAGE_CHAT_TEMPLATES, llamaServerArgs, toolRoute, routerArgs, routerPreset, routerPresetSections } from './args.ts';
import type { CommandInput, Plan } from '../../plan/index.ts';

const PROGRAMS = ['llama-server'] as const;
export const LLAMA_SERVER_BUILD = cmakeProgramsArtifact('llama-server', PROGRAMS);

/**
 * glibc's allocator, held to a fixed mmap threshold: a large request (a 5 MB prompt, refused as
 * longer than the context) allocates big buffers on an HTTP thread, and with the default dynamic
 * threshold they land in that thread's arena and stay resident after they are freed: measured
 * here, 60 MB more RSS per such request, 4 MB with this.
 */
const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' };

function binary(plan: CommandInput): string {
  return LLAMA_SERVER_BUILD.program(plan, 'llama-server');
}

export const llamaServerBackend: ServingBackend = {
  name: 'llama-server',
  label: 'llama-server',
  apiKeyEnv: 'LLAMA_API_KEY',

  // Measured on 2 cores (llama-bench tg64: 66-80 tokens/s on 1 thread, 99-120 on 2; served 105
  // against 75): llama-server decodes fastest on every core.
  autoDecodeThreads: (cpuCount) => Math.max(1, cpuCount),

  // Several slots for a small model (its KV cache is small), one for a large one. A power of two:
  // with --embeddings and mean pooling this llama.cpp aborts at start with 5 slots
  // (GGML_ASSERT(ggml_can_mul_mat) in build_pooling while reserving its 512-token graph).
  // A request waits for a free slot whatever the batch scheduler does (fair-batch-*): with every
  // slot streaming, an embedding waits for the first stream to end.
  slots: ({ parallel, largestModelMb }) => (parallel !== 'auto' ? parallel : largestModelMb !== undefined && largestModelMb >= 2048 ? 1 : 4),

  // Its router keeps every model loaded.
  loadsEveryModel: true,
  // Its flags apply to the router, which passes them on to every model's instance.
  flagsForSeveralModels: true,

  hostPython: () => ({ packages: [], modules: [] }),
  hostBuild: LLAMA_SERVER_BUILD,

  hostCommand(plan) {
    if (plan.models.length > 1) {
      const preset = statePaths(plan).routerPreset;
      return { argv: [binary(plan), ...routerArgs(plan, preset)], files: [{ path: preset, text: routerPreset(plan) }] };
    }
    return { argv: [binary(plan), ...llamaServerArgs(plan, { modelPath: plan.model.path })], files: [] };
  },

  containerCommand(plan) {
    return ['/usr/local/bin/llama-server', ...llamaServerArgs(plan, { modelPath: `${plan.container.modelDir}/${plan.model.fileName}`, inContainer: true })];
  },

  nativeEnv: (_plan, apiKey): Record<string, string> => ({ ...MALLOC_ENV, ...(apiKey === undefined ? {} : { LLAMA_API_KEY: apiKey }) }),

  nativeFacts(plan) {
    return {
      'llama.cpp build': `llama-server ${cmakeBuildKey(plan, PROGRAMS)}`,
      ...(plan.models.length > 1 ? configFacts(routerPresetSections(plan), 'presets') : {}),
    };
  },

  toolRoute,
  // Both answer on this commit (tools/server/server.cpp), tried by the smoke checks.
  api: { responses: true, anthropicMessages: true, metrics: true },
  speculates: true,
  hasWebUi: true,
  spreadsOverRpc: true,
  // --sleep-idle-seconds: the model is unloaded after that long idle; /props says is_sleeping.
  idleSleep: {
    async isSleeping(serverOrigin, apiKey) {
      try {
        const response = await fetch(`${serverOrigin}/props`, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, signal: AbortSignal.timeout(3000) });
        if (!response.ok) return undefined;
        const props = (await response.json()) as { is_sleeping?: unknown };
        return typeof props.is_sleeping === 'boolean' ? props.is_sleeping : undefined;
      } catch {
        return undefined;
      }
    },
  },
  hasHealthEndpoint: true,
  tokenize: { path: '/tokenize', field: 'content' },

  image: {
    template: 'Dockerfile.llama-server.hbs',
    // Its build stage needs CMake and a Python for pip download; the image that serves holds no Python.
    aptPackages: ({ baseHasPython, blas }) => ({
      build: [...(baseHasPython ? [] : ['python3', 'python3-venv']), 'build-essential', 'ccache', 'cmake', 'ninja-build', 'pkg-config', ...(blas === 'openblas' ? ['libopenblas-dev'] : [])],
      // llama.cpp's CPU backend uses OpenMP.
      runtime: ['libgomp1', ...(blas === 'openblas' ? ['libopenblas0'] : [])],
    }),
    values: (plan) => ({
      llamaServerKey: cmakeBuildKey(plan, PROGRAMS),
      // Laid out as the host's build tree, so the compiler cache serves both.
      buildTree: IMAGE_COMPILER_CACHE.tree,
      sdistDir: `llama_cpp_python-${plan.llamaCpp.version}`,
      ccacheDir: IMAGE_COMPILER_CACHE.dir,
      ccacheEnv: Object.entries(imageCompilerCacheEnv()).map(([name, value]) => shellQuote(`${name}=${value}`)).join(' '),
      keepAliveSed: shellQuote(KEEP_ALIVE_PATCH.sed),
      keepAliveFile: KEEP_ALIVE_PATCH.file,
      patchScript: PATCH_SCRIPT_CONTEXT_FILE,
      chatTemplate: chatTemplateFile(plan.model),
      imageChatTemplates: IMAGE_CHAT_TEMPLATES,
      patchesFile: PATCHES_CONTEXT_FILE,
      llamaServerCmakeArgs: shellWords(llamaCppCmakeArgs(plan)),
      // The chat page, built on the host (npm) and put in the context by the image step.
      webUi: plan.server.webUi ? WEB_UI_CONTEXT_DIR : undefined,
    }),
    contextFiles: (plan) => {
      const template = chatTemplateFile(plan.model);
      return [
        { path: PATCHES_CONTEXT_FILE, content: `${JSON.stringify(SOURCE_PATCHES, null, 2)}\n` },
        { path: PATCH_SCRIPT_CONTEXT_FILE, content: readFileSync(plan.paths.llamaCppPatcher, 'utf8') },
        ...(template ? [{ path: template, content: readFileSync(join(plan.paths.chatTemplates, template), 'utf8') }] : []),
      ];
    },
    contextFileNames: [PATCHES_CONTEXT_FILE, PATCH_SCRIPT_CONTEXT_FILE, ...new Set(Object.values(CHAT_TEMPLATES).flatMap((t) => ('file' in t ? [t.file] : [])))],
    env: MALLOC_ENV,
    // /health answers without the key.
    probe: () => ({ path: '/health' }),
  },

  summary: (plan) => `llama-server from llama-cpp-python ${plan.llamaCpp.version}'s llama.cpp; --embeddings --pooling ${plan.model.pooling}, ${plan.server.parallel} slots`,

  async benchServer(plan, port) {
    await LLAMA_SERVER_BUILD.ensure(plan);
    const parallel = this.slots({ parallel: 'auto', cpuCount: plan.server.nThreadsBatch, largestModelMb: plan.model.sizeMb });
    // Its own auto threads where the profile says auto: llama-server decodes fastest on every core.
    const nThreads = plan.server.threadsAuto ? this.autoDecodeThreads(plan.server.nThreadsBatch) : plan.server.nThreads;
    const benchPlan: Plan = { ...plan, models: [plan.model], server: { ...plan.server, host: '127.0.0.1', port, parallel, nThreads, extraArgs: [] } };
    return { argv: [binary(plan), ...llamaServerArgs(benchPlan, { modelPath: plan.model.path })], env: MALLOC_ENV, parallel };
  },
};

