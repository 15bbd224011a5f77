/**
 * llama-cpp-python's llama_cpp.server, the guide's backend: the compiled wheel in a Python env,
 * run through our launcher (scripts/python/serve.py: pooled embeddings, no AMX buffers), or
 * the guide's `openblas_simple` image with the Embeddings fix. One request at a time; several
 * models from a config file, one loaded at a time.
 */
import { readFileSync } from 'node:fs';
import { configFacts, sha256Hex } from '../../fingerprint.ts';
import { shellQuote } from '../../render/quote.ts';
import { WHEEL_PATCHES, PATCH_SCRIPT_CONTEXT_FILE, PATCHES_CONTEXT_FILE } from '../../llama-cpp/source-patches.ts';
import { statePaths } from '../../state/paths.ts';
import type { ServingBackend } from '../types.ts';
import { namedChatFormat, serverArgs, serverConfig } from './args.ts';
import { benchPython } from './bench-env.ts';
import { WHEEL_BUILD, wheelDir, wheelKey } from './wheel.ts';
import type { Plan } from '../../plan/index.ts';

export function llamaCppRequirement(version: string): string {
  return `llama-cpp-python[server]==${version}`;
}

export const llamaCppPythonBackend: ServingBackend = {
  name: 'llama-cpp-python',
  label: 'llama_cpp.server',
  apiKeyEnv: 'API_KEY',

  // Measured on 2 cores (make bench, served single-stream decode 54 against 46 tokens/s):
  // every core but one, since its Python HTTP and streaming threads need a core of their own.
  autoDecodeThreads: (cpuCount) => Math.max(1, cpuCount - 1),

  // llama_cpp.server decodes one request at a time.
  slots: () => 1,

  // It keeps one model loaded and swaps on a request naming another.
  loadsEveryModel: false,
  // Several models come from a config file, which takes no flags.
  flagsForSeveralModels: false,

  hostPython: (plan) => ({
    packages: [llamaCppRequirement(plan.llamaCpp.version)],
    modules: ['llama_cpp', 'llama_cpp.server'],
    builtHere: { findLinks: wheelDir(plan), requirement: `llama-cpp-python==${plan.llamaCpp.version}`, build: wheelKey(plan, 'native') },
  }),
  hostBuild: WHEEL_BUILD,

  hostCommand(plan, python) {
    const noExtraBuffers = plan.server.weightRepack ? [] : ['--no_extra_buffers'];
    if (plan.models.length > 1) {
      // Several models come from a config file (llama_cpp.server reads no model list on argv).
      const config = statePaths(plan).serverConfig;
      return { argv: [python, plan.paths.launcher, ...noExtraBuffers, '--config_file', config], files: [{ path: config, text: `${JSON.stringify(serverConfig(plan), null, 2)}\n` }] };
    }
    return { argv: [python, plan.paths.launcher, ...serverArgs(plan, { modelPath: plan.model.path, bindHost: true })], files: [] };
  },

  containerCommand(plan) {
    return ['python', '/opt/llm-workbench/serve.py', ...serverArgs(plan, { modelPath: `${plan.container.modelDir}/${plan.model.fileName}`, bindHost: false })];
  },

  // HOST and PORT are set on purpose: llama_cpp.server lets them override --host/--port.
  nativeEnv: (plan, apiKey) => ({ HOST: plan.server.host, PORT: String(plan.server.port), ...(apiKey === undefined ? {} : { API_KEY: apiKey }) }),

  nativeFacts(plan) {
    return {
      'llama_cpp.version': plan.llamaCpp.version,
      'llama.cpp cmake args': plan.llamaCpp.hostCmakeArgs,
      'launcher sha256': sha256Hex(readFileSync(plan.paths.launcher, 'utf8')).slice(0, 16),
      ...(plan.models.length > 1 ? configFacts(serverConfig(plan)) : {}),
    };
  },

  // scripts/python/serve.py: "required" and a named function get a grammar of the function's parameters.
  toolRoute: (model) => ({ route: `${namedChatFormat(model) ?? "the GGUF's"} chat format through our launcher: a named or required tool_choice is a grammar of the function's parameters; "auto" answers in prose` }),
  // llama_cpp.server has neither /v1/responses nor /v1/messages (0.3.x).
  api: { responses: false, anthropicMessages: false, metrics: false },
  // llama_cpp.server's prompt-lookup drafting is another mechanism, not measured here.
  speculates: false,
  hasWebUi: false,
  spreadsOverRpc: false,
  hasHealthEndpoint: false,
  tokenize: { path: '/extras/tokenize', field: 'input' },

  image: {
    template: 'Dockerfile.hbs',
    aptPackages: ({ baseHasPython, blas }) => ({
      build: [...(baseHasPython ? [] : ['python3', 'python3-venv', 'python3-dev']), 'build-essential', 'ninja-build', 'pkg-config', ...(blas === 'openblas' ? ['libopenblas-dev'] : [])],
      // llama.cpp's CPU backend uses OpenMP.
      runtime: [...(baseHasPython ? [] : ['python3']), 'libgomp1', ...(blas === 'openblas' ? ['libopenblas0'] : [])],
    }),
    values: (plan) => ({
      // The accelerator's flags, and where the image's toolkit is (none for the CPU).
      cmakeArgsShell: shellQuote([plan.llamaCpp.hostCmakeArgs, ...plan.container.toolchain.configureArgs].filter(Boolean).join(' ')),
      llamaCppRequirement: shellQuote(llamaCppRequirement(plan.llamaCpp.version)),
      wheelKey: wheelKey(plan, 'container'),
      sdistDir: `llama_cpp_python-${plan.llamaCpp.version}`,
      patchScript: PATCH_SCRIPT_CONTEXT_FILE,
      patchesFile: PATCHES_CONTEXT_FILE,
    }),
    // The launcher goes into the build context so the image runs exactly what the host runs; the
    // engine's patches and the script that applies them (the wheel is compiled in the build stage).
    contextFiles: (plan) => [
      { path: 'serve.py', content: readFileSync(plan.paths.launcher, 'utf8') },
      { path: PATCHES_CONTEXT_FILE, content: `${JSON.stringify(WHEEL_PATCHES, null, 2)}\n` },
      { path: PATCH_SCRIPT_CONTEXT_FILE, content: readFileSync(plan.paths.llamaCppPatcher, 'utf8') },
    ],
    contextFileNames: ['serve.py', PATCHES_CONTEXT_FILE, PATCH_SCRIPT_CONTEXT_FILE],
    // As in the guide: no mlock (it needs a raised memlock limit).
    env: { USE_MLOCK: '0' },
    // It has no /health, and an httpGet probe cannot send the key: with a key the probe runs
    // Python in the container, the key from the Secret.
    probe: (plan) => ({
      path: '/v1/models',
      ...(plan.server.apiKey.kind !== 'none'
        ? {
            command: [
              'python',
              '-c',
              `import os, urllib.request as u; u.urlopen(u.Request("http://127.0.0.1:${plan.server.port}/v1/models", headers={"Authorization": "Bearer " + os.environ["API_KEY"]}), timeout=5)`,
            ],
          }
        : {}),
    }),
  },

  summary(plan) {
    const chatFormat = namedChatFormat(plan.model);
    const chat = chatFormat ? ` --chat_format ${chatFormat}` : '';
    return `llama-cpp-python==${plan.llamaCpp.version}, CMAKE_ARGS=${plan.llamaCpp.cmakeArgs}; server --embedding true --pooling ${plan.model.pooling}${chat}`;
  },

  async benchServer(plan, port) {
    const python = await benchPython(plan);
    const nThreads = plan.server.threadsAuto ? this.autoDecodeThreads(plan.server.nThreadsBatch) : plan.server.nThreads;
    const benchPlan: Plan = { ...plan, models: [plan.model], server: { ...plan.server, host: '127.0.0.1', port, parallel: 1, nThreads, extraArgs: [] } };
    return { argv: [python, plan.paths.launcher, ...serverArgs(benchPlan, { modelPath: plan.model.path, bindHost: true })], env: { HOST: '127.0.0.1', PORT: String(port) }, parallel: 1 };
  },
};
