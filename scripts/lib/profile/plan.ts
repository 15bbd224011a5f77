/**
 * Turns a validated profile into a fully resolved plan: every path, version, flag and argv the
 * steps need. Pure: the machine facts it depends on (environment, architecture) come in as
 * arguments, so it is unit-tested without touching the machine.
 */
import { join } from 'node:path';
import { displayPath } from '../errors.ts';
import { autoDecodeThreads, checkExposure, checkModels, checkPorts, dnsLabel, resolveParallel, urlHost } from './rules.ts';
import { cmakeArgs } from '../llama-cpp/versions.ts';
import { largestSizeMb, resolveModel, type PlanModel } from './models.ts';
import type { LoadedProfile } from './load.ts';

export type { PlanModel } from './models.ts';

export interface PlanContext {
  repoRoot: string;
  env: Record<string, string | undefined>;
  /** `uname -m` style: x86_64, aarch64. */
  arch: string;
  /** CPU threads this machine offers (what `n_threads: auto` means). */
  cpuCount?: number;
  /** The CPU's feature flags (/proc/cpuinfo), for what llama.cpp must not use on it. */
  cpuFlags?: readonly string[];
  /** sha256s recorded by earlier downloads (env/<profile>.lock.json), keyed by model id. */
  lockedSha256?: Record<string, string>;
}

export interface Plan {
  profile: { name: string; files: string[]; description?: string };
  /** The profile's `model`: the one the notebook, the bench and single-model checks use. */
  model: PlanModel;
  /** `model` first, then `extra_models`: everything the server serves, each by its alias. */
  models: PlanModel[];
  llamaCpp: {
    version: string;
    blas: 'none' | 'openblas';
    /** CMAKE_ARGS where the server runs (host or image), and for the host's build. */
    cmakeArgs: string;
    hostCmakeArgs: string;
    /** Whether the host env gets llama-cpp-python (native runtime) or not (the image serves). */
    onHost: boolean;
    requirement: string;
  };
  python: {
    manager: 'auto' | 'conda' | 'venv';
    envName: string;
    version: string;
    condaPackages: string[];
    pipPackages: string[];
    /** The venv route's location (conda envs live where conda keeps them). */
    venvDir: string;
  };
  server: {
    host: string;
    port: number;
    backend: 'llama-cpp-python' | 'llama-server';
    /** Decode threads (auto: every core for llama-server, every core but one for llama_cpp.server; rules.ts says why). */
    nThreads: number;
    /** Prompt threads (auto: every core); with `threadsAuto`, rendered files name none. */
    nThreadsBatch: number;
    threadsAuto: boolean;
    /**
     * Whether llama.cpp may move weights into extra buffer types (AMX, repacked layouts). Off on a
     * CPU with AMX: the AMX path segfaults on the first real prompt (ggml-org/llama.cpp#20824).
     */
    weightRepack: boolean;
    /** llama-server's parallel slots (1 for llama-cpp-python, which serves one request at a time). */
    parallel: number;
    apiKey: { kind: 'none' } | { kind: 'generate'; file: string } | { kind: 'env'; variable: string };
    /** The variable the server reads its key from: API_KEY (llama_cpp.server) or LLAMA_API_KEY (llama-server). */
    apiKeyEnv: 'API_KEY' | 'LLAMA_API_KEY';
    extraArgs: string[];
    baseUrl: string;
  };
  jupyter: { enabled: boolean; host: string; port: number; url: string; tokenFile: string; notebookDir: string };
  runtime: 'native' | 'container';
  container: {
    engine: 'auto' | 'docker' | 'podman';
    image: string;
    base: string;
    /** The server container's name; JupyterLab's under compose is `<name>-jupyter`. */
    name: string;
    /** The compose project (passed with -p) and the Kubernetes object names: DNS-1123 labels. */
    composeProject: string;
    kubeName: string;
    kubeSecretName: string;
    /** Debian packages the build stage needs: compilers, BLAS headers, python3 when the base lacks it. */
    aptPackages: string[];
    /** Debian packages the running image needs: the shared libraries llama.cpp links. */
    runtimeAptPackages: string[];
    /** llama-server's image: its build stage (compilers, CMake, a Python for pip download), and JupyterLab's stage. */
    llamaServerAptPackages: string[];
    jupyterAptPackages: string[];
    modelDir: string;
  };
  paths: {
    repoRoot: string;
    envDir: string;
    buildDir: string;
    stateDir: string;
    cacheDir: string;
    modelsDir: string;
    wheelsDir: string;
    dataDir: string;
    bashrc: string;
    launcher: string;
    lockFile: string;
  };
}

export function resolvePlan(loaded: LoadedProfile, ctx: PlanContext): Plan {
  const { profile, name } = loaded;
  const leafFile = loaded.layers[loaded.layers.length - 1]!.file;
  checkPorts(profile, leafFile);
  checkExposure(profile, leafFile);
  checkModels(profile, leafFile);

  const home = ctx.env.HOME ?? '/root';
  const xdg = (variable: string, fallback: string) => ctx.env[variable] || join(home, fallback);
  const stateRoot = ctx.env.LLM_WORKBENCH_STATE_DIR || join(xdg('XDG_STATE_HOME', '.local/state'), 'llm-workbench');
  const cacheDir = ctx.env.LLM_WORKBENCH_CACHE_DIR || join(xdg('XDG_CACHE_HOME', '.cache'), 'llm-workbench');
  const dataDir = ctx.env.LLM_WORKBENCH_DATA_DIR || join(xdg('XDG_DATA_HOME', '.local/share'), 'llm-workbench');
  const stateDir = join(stateRoot, name);
  const envDir = profilesDir(ctx.repoRoot, ctx.env);
  const modelsDir = join(cacheDir, 'models');

  const models = [profile.model, ...profile.extra_models].map((model) => resolveModel(model, modelsDir, ctx.lockedSha256 ?? {}));

  const version = profile.llama_cpp.version;
  const requirement = `llama-cpp-python[server]==${version}`;
  // A container profile serves from its image: the host env (JupyterLab, the checks) needs no
  // llama.cpp, so nothing is compiled on the host for it.
  const hostServes = profile.runtime === 'native' && profile.server.backend === 'llama-cpp-python';
  const pipPackages = [...(hostServes ? [requirement] : []), 'openai>=1.13', 'jupyterlab>=4', ...profile.python.packages];
  const condaPackages = [`python=${profile.python.version}`, 'pip'];
  if (profile.python.blas === 'mkl' && ctx.arch === 'x86_64') condaPackages.push('blas=*=*mkl');

  const server = profile.server;
  const clientHost = (host: string) => (host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : urlHost(host));
  const apiKey: Plan['server']['apiKey'] =
    server.api_key === 'none'
      ? { kind: 'none' }
      : server.api_key === 'generate'
        ? { kind: 'generate', file: join(stateDir, 'api-key') }
        : { kind: 'env', variable: server.api_key.slice('env:'.length) };

  const base = profile.container.base;
  const baseHasPython = /(^|\/)python:/.test(base);
  const aptPackages = [
    ...(baseHasPython ? [] : ['python3', 'python3-venv', 'python3-dev']),
    'build-essential',
    'ninja-build',
    'pkg-config',
    ...(profile.llama_cpp.blas === 'openblas' ? ['libopenblas-dev'] : []),
  ];
  const llamaServerImage = profile.server.backend === 'llama-server';
  const runtimeAptPackages = [
    ...(baseHasPython || llamaServerImage ? [] : ['python3']),
    // llama.cpp's CPU backend uses OpenMP.
    'libgomp1',
    ...(profile.llama_cpp.blas === 'openblas' ? ['libopenblas0'] : []),
  ];

  return {
    profile: { name, files: loaded.layers.map((l) => displayPath(l.file)), ...(profile.description ? { description: profile.description } : {}) },
    model: models[0]!,
    models,
    llamaCpp: {
      version,
      blas: profile.llama_cpp.blas,
      cmakeArgs: cmakeArgs(version, profile.llama_cpp.blas),
      hostCmakeArgs: cmakeArgs(version, profile.llama_cpp.blas),
      onHost: hostServes,
      requirement,
    },
    python: {
      manager: profile.python.manager,
      envName: profile.python.env,
      version: profile.python.version,
      condaPackages,
      pipPackages,
      venvDir: join(dataDir, 'envs', profile.python.env),
    },
    server: {
      host: server.host,
      port: server.port,
      backend: server.backend,
      nThreads: server.n_threads === 'auto' ? autoDecodeThreads(server.backend, ctx.cpuCount ?? 1) : server.n_threads,
      nThreadsBatch: server.n_threads === 'auto' ? Math.max(1, ctx.cpuCount ?? 1) : server.n_threads,
      threadsAuto: server.n_threads === 'auto',
      weightRepack: !(ctx.cpuFlags ?? []).includes('amx_int8'),
      parallel: server.backend === 'llama-server' ? resolveParallel(server.parallel, largestSizeMb(models)) : 1,
      apiKey,
      apiKeyEnv: server.backend === 'llama-server' ? 'LLAMA_API_KEY' : 'API_KEY',
      extraArgs: server.extra_args,
      baseUrl: `http://${clientHost(server.host)}:${server.port}/v1`,
    },
    jupyter: {
      enabled: profile.jupyter.enabled,
      host: profile.jupyter.host,
      port: profile.jupyter.port,
      url: `http://${clientHost(profile.jupyter.host)}:${profile.jupyter.port}/lab`,
      tokenFile: join(stateDir, 'jupyter-token'),
      notebookDir: join(dataDir, 'notebooks', name),
    },
    runtime: profile.runtime,
    container: {
      engine: profile.container.engine,
      image: profile.container.image,
      base,
      name: `llm-workbench-${name}`,
      composeProject: dnsLabel(`llm-workbench-${name}`),
      kubeName: dnsLabel(`llm-workbench-${name}`),
      kubeSecretName: dnsLabel(`llm-workbench-${name}-api-key`),
      aptPackages,
      runtimeAptPackages,
      llamaServerAptPackages: [
        ...(baseHasPython ? [] : ['python3', 'python3-venv']),
        'build-essential',
        'cmake',
        'ninja-build',
        'pkg-config',
        ...(profile.llama_cpp.blas === 'openblas' ? ['libopenblas-dev'] : []),
      ],
      jupyterAptPackages: baseHasPython ? [] : ['python3', 'python3-venv'],
      modelDir: '/models',
    },
    paths: {
      repoRoot: ctx.repoRoot,
      envDir,
      buildDir: join(ctx.env.LLM_WORKBENCH_BUILD_DIR || join(ctx.repoRoot, 'build'), name),
      stateDir,
      cacheDir,
      modelsDir,
      wheelsDir: join(cacheDir, 'wheels'),
      dataDir,
      bashrc: ctx.env.BASHRC || join(home, '.bashrc'),
      launcher: join(ctx.repoRoot, 'scripts', 'python', 'serve.py'),
      lockFile: join(envDir, `${name}.lock.json`),
    },
  };
}

/** Profiles live in the repo's env/ unless LLM_WORKBENCH_ENV_DIR points elsewhere. */
export function profilesDir(repoRoot: string, env: Record<string, string | undefined>): string {
  return env.LLM_WORKBENCH_ENV_DIR || join(repoRoot, 'env');
}
