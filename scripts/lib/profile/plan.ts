/**
 * Turns a validated profile into a fully resolved plan: every path, version, flag and argv the
 * steps need. Pure: the machine facts it depends on (environment, architecture) come in as
 * arguments, so it is unit-tested without touching the machine.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { displayPath, WorkbenchError } from '../errors.ts';
import { backendNamed } from '../backend/index.ts';
import { checkDistributed, checkExposure, checkMetrics, checkModels, checkPageAndSleep, checkSpeculation, checkPorts, dnsLabel, idleSleepSeconds, metricsOn, urlHost, webUiOn } from './rules.ts';
import { cmakeArgs } from '../llama-cpp/versions.ts';
import { BATCH_INVARIANT_ENV, PROMPTS_ONE_AT_A_TIME_ENV } from '../llama-cpp/source-patches.ts';
import { chooseAccelerator } from '../accelerator/choose.ts';
import { NO_GPU_FACTS } from '../accelerator/facts.ts';
import { acceleratorNamed } from '../accelerator/index.ts';
import { runtimeTraits } from './runtimes.ts';
import { largestSizeMb, resolveModel, type ChatTemplateReader } from './models.ts';
import { transportFor } from '../model/transport/index.ts';
import type { LoadedProfile } from './load.ts';
import type { AcceleratorChoice, CommandInput, CoreSharer, GpuFacts, LockedModel, Plan, PlanModel, RuntimeTraits } from '../plan/index.ts';
import { port as portSchema, workerHost, type Profile } from './schema.ts';
import { workerCommand } from '../rpc/workers.ts';

/**
 * server.speculative: auto on a backend that speculates. make bench measured every mode on fresh
 * servers (docs/bench/): after stop 41's attention patch made one-token steps cheaper, ngram-map-k
 * was faster than off on the guide's prompts and on code rewrites over two runs (x1.04, x1.02, 4
 * clients x1.06), where ngram-mod, ahead before it, lost on code rewrites (x0.94).
 */
const AUTO_SPECULATION = 'ngram-map-k';

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
  /** env/<profile>.lock.json's models: a sha256 recorded by a first download, an hf source's resolution. */
  lockedModels?: Record<string, LockedModel>;
  /** The python of the profile's env as step 20 recorded it (a conda env's lives where conda keeps it). */
  pythonInterpreter?: string;
  /**
   * Reads that record once the plan knows which env it uses (its name, its venv) and where the
   * profile's state is: the plan is then resolved in one pass. pythonInterpreter wins when given.
   */
  readRecordedInterpreter?: (stateDir: string, env: { envName: string; venvDir: string }) => string | undefined;
  /** The servers of other profiles already on this machine's cores (state/serving.ts coreSharers); none when not given. */
  coreSharers?: (stateDir: string) => readonly CoreSharer[];
  /** What this machine has for a GPU (accelerator/facts.ts); none when not given. */
  gpuFacts?: GpuFacts;
  /** Reads a cached GGUF's own chat template (chat_format: auto); none: decided once fetched. */
  readChatTemplate?: ChatTemplateReader;
}

export function resolvePlan(loaded: LoadedProfile, ctx: PlanContext): Plan {
  const { profile, name } = loaded;
  const leafFile = loaded.layers[loaded.layers.length - 1]!.file;
  checkPorts(profile, leafFile);
  checkExposure(profile, leafFile);
  checkModels(profile, leafFile);
  checkMetrics(profile, leafFile);
  checkSpeculation(profile, leafFile);
  checkPageAndSleep(profile, leafFile);
  checkDistributed(profile, leafFile);

  // The profiles it extends, nearest first: their lock files stand in where its own has nothing yet.
  const parents = loaded.layers.slice(0, -1).map((layer) => layer.name).reverse();
  const paths = resolvePaths(name, ctx, parents);
  const models = [profile.model, ...profile.extra_models].map((model) => resolveModel(model, paths.modelsDir, ctx.lockedModels ?? {}, ctx.readChatTemplate));
  // A container profile serves from its image: the host env (JupyterLab, the checks) needs no
  // llama.cpp, so nothing is compiled on the host for it.
  const traits = runtimeTraits(profile.runtime);
  const accelerator = chooseAccelerator(
    { kind: profile.accelerator.kind, gpuLayers: profile.accelerator.gpu_layers, required: profile.accelerator.required, cudaArchitectures: profile.accelerator.cuda_architectures, inContainer: traits.inContainer },
    ctx.gpuFacts ?? NO_GPU_FACTS,
  );
  const blasArgs = cmakeArgs(profile.llama_cpp.version, profile.llama_cpp.blas);
  const llamaCpp = { version: profile.llama_cpp.version, blas: profile.llama_cpp.blas, cmakeArgs: blasArgs, hostCmakeArgs: [blasArgs, ...accelerator.cmakeArgs].filter(Boolean).join(' ') };

  const server = resolveServer(profile.server, ctx, { models, accelerator, stateDir: paths.stateDir });
  return withCommands({
    profile: { name, files: loaded.layers.map((l) => displayPath(l.file)), ...(profile.description ? { description: profile.description } : {}) },
    model: models[0]!,
    models,
    accelerator,
    llamaCpp,
    python: resolvePython(profile, ctx, { traits, llamaCpp, paths, accelerator }),
    server,
    jupyter: {
      enabled: profile.jupyter.enabled,
      host: profile.jupyter.host,
      port: profile.jupyter.port,
      url: `http://${clientHost(profile.jupyter.host)}:${profile.jupyter.port}/lab`,
      tokenFile: join(paths.stateDir, 'jupyter-token'),
      notebookDir: join(paths.dataDir, 'notebooks', name),
    },
    runtime: profile.runtime,
    runtimeTraits: traits,
    container: resolveContainer(profile, name, accelerator, { model: models[0]!, server }),
    ...(profile.distributed ? { distributed: resolveDistributed(profile.distributed, ctx) } : {}),
    paths,
  });
}

/**
 * The RPC workers the server connects to, and this machine as one: the profile's bind, or
 * RPC_HOST / RPC_PORT from make rpc-worker's command line (held to the same rules).
 */
function resolveDistributed(distributed: NonNullable<Profile['distributed']>, ctx: PlanContext): NonNullable<CommandInput['distributed']> {
  const override = <T>(variable: string, schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } } }, raw: unknown): T | undefined => {
    if (raw === undefined || raw === '') return undefined;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new WorkbenchError(`${variable}=${String(raw)} ${parsed.error.issues[0]?.message ?? 'is not valid'}`, `give ${variable} as the profile's distributed.worker field would be`);
    return parsed.data;
  };
  const host = override('RPC_HOST', workerHost, ctx.env.RPC_HOST) ?? distributed.worker.host;
  const port = override('RPC_PORT', portSchema, ctx.env.RPC_PORT === undefined || ctx.env.RPC_PORT === '' ? undefined : Number(ctx.env.RPC_PORT)) ?? distributed.worker.port;
  return {
    workers: distributed.rpc_workers.map((endpoint) => {
      const [workerHostName, workerPort] = endpoint.split(':') as [string, string];
      return { host: workerHostName, port: Number(workerPort), endpoint };
    }),
    worker: { host, port, endpoint: `${host}:${port}`, threads: distributed.worker.threads === 'auto' ? Math.max(1, ctx.cpuCount ?? 1) : distributed.worker.threads, cache: distributed.worker.cache },
  };
}

/**
 * The server command, worked out once from every other decision: the native runtime runs
 * plan.server.command, render writes plan.container.command, make plan JSON=1 prints both. The
 * container files serve one model (render's TEMPLATES), so several models have no image command.
 */
function withCommands(settled: CommandInput): Plan {
  const backend = backendNamed(settled.server.backend);
  const containerCommand = settled.models.length > 1 ? [] : backend.containerCommand(settled);
  const command = settled.runtimeTraits.buildsOnHost ? backend.hostCommand(settled, settled.python.interpreter) : { argv: containerCommand, files: [] };
  const { distributed, ...rest } = settled;
  return {
    ...rest,
    server: { ...settled.server, command },
    container: { ...settled.container, command: containerCommand },
    ...(distributed ? { distributed: { ...distributed, worker: { ...distributed.worker, command: workerCommand(settled) } } } : {}),
  };
}

/** Where everything lives: this user's cache, data and state folders, the repo's files. */
function resolvePaths(name: string, ctx: PlanContext, parents: string[]): Plan['paths'] {
  const home = ctx.env.HOME ?? '/root';
  const xdg = (variable: string, fallback: string) => ctx.env[variable] || join(home, fallback);
  const cacheDir = ctx.env.LLM_WORKBENCH_CACHE_DIR || join(xdg('XDG_CACHE_HOME', '.cache'), 'llm-workbench');
  const envDir = profilesDir(ctx.repoRoot, ctx.env);
  return {
    repoRoot: ctx.repoRoot,
    envDir,
    buildDir: join(ctx.env.LLM_WORKBENCH_BUILD_DIR || join(ctx.repoRoot, 'build'), name),
    stateDir: join(stateRootFor(ctx.env), name),
    cacheDir,
    modelsDir: join(cacheDir, 'models'),
    wheelsDir: join(cacheDir, 'wheels'),
    dataDir: ctx.env.LLM_WORKBENCH_DATA_DIR || join(xdg('XDG_DATA_HOME', '.local/share'), 'llm-workbench'),
    bashrc: ctx.env.BASHRC || join(home, '.bashrc'),
    launcher: join(ctx.repoRoot, 'scripts', 'python', 'serve.py'),
    llamaCppPatcher: join(ctx.repoRoot, 'scripts', 'python', 'patch_llama_cpp.py'),
    modelFetcher: join(ctx.repoRoot, 'scripts', 'python', 'fetch_model.py'),
    chatTemplates: join(ctx.repoRoot, 'templates', 'chat'),
    lockFile: join(envDir, `${name}.lock.json`),
    parentLockFiles: parents.map((parent) => join(envDir, `${parent}.lock.json`)),
  };
}

/** The host's Python env: what it holds (the backend's server when it runs natively), its name, where it is. */
function resolvePython(profile: Profile, ctx: PlanContext, settled: Pick<CommandInput, 'llamaCpp' | 'paths' | 'accelerator'> & { traits: RuntimeTraits }): Plan['python'] {
  const backend = backendNamed(profile.server.backend);
  const condaPackages = [`python=${profile.python.version}`, 'pip'];
  if (profile.python.blas === 'mkl' && ctx.arch === 'x86_64') condaPackages.push('blas=*=*mkl');
  const hostServer = settled.traits.buildsOnHost ? backend.hostPython(settled) : { packages: [], modules: [] };
  const envName = sharedEnvName(profile.python.env, { version: profile.python.version, extraPackages: [...hostServer.packages, ...profile.python.packages], condaPackages, build: hostServer.builtHere?.build });
  const venvDir = join(settled.paths.dataDir, 'envs', envName);
  return {
    manager: profile.python.manager,
    envName,
    version: profile.python.version,
    condaPackages,
    pipPackages: [...hostServer.packages, 'openai>=1.13', 'jupyterlab>=4', ...profile.python.packages],
    venvDir,
    interpreter: ctx.pythonInterpreter ?? ctx.readRecordedInterpreter?.(settled.paths.stateDir, { envName, venvDir }) ?? join(venvDir, 'bin', 'python'),
    serverModules: hostServer.modules,
    ...(hostServer.builtHere ? { builtHere: hostServer.builtHere } : {}),
  };
}

/**
 * What n_threads: auto takes: this machine's cores split evenly with the servers of other profiles
 * already serving, at least one. Measured on 2 cores (docs/bench/stop-36-*): two llama-bench runs
 * at once decode 36 + 36 tokens/s with 2 threads each and 87 + 88 with 1 each, against 134 alone.
 */
export function autoCores(cpuCount: number, sharers: readonly CoreSharer[]): { cores: number; of: number; with: CoreSharer[] } {
  const of = Math.max(1, cpuCount);
  return { cores: Math.max(1, Math.floor(of / (1 + sharers.length))), of, with: [...sharers] };
}

/** The server's settings: bind, threads, slots, the key, and what reproducible answers take. */
function resolveServer(server: Profile['server'], ctx: PlanContext, settled: { models: PlanModel[]; accelerator: AcceleratorChoice; stateDir: string }): Omit<Plan['server'], 'command'> {
  const backend = backendNamed(server.backend);
  const threadsAuto = server.n_threads === 'auto';
  const cores = autoCores(ctx.cpuCount ?? 1, threadsAuto ? (ctx.coreSharers?.(settled.stateDir) ?? []) : []);
  const repackSafe = !(ctx.cpuFlags ?? []).includes('amx_int8');
  // The engine's patch makes the CPU's kernels batch-invariant; a GPU's still choose by batch size.
  const { batchInvariant, promptsOneAtATime: oneAtATimeHere } = acceleratorNamed(settled.accelerator.name);
  const parallel = backend.slots({ parallel: server.parallel, cpuCount: ctx.cpuCount ?? 1, largestModelMb: largestSizeMb(settled.models) });
  // With one slot no two prompts wait together.
  const promptsOneAtATime = oneAtATimeHere && parallel > 1;
  return {
    host: server.host,
    port: server.port,
    backend: server.backend,
    nThreads: threadsAuto ? backend.autoDecodeThreads(cores.cores) : (server.n_threads as number),
    nThreadsBatch: threadsAuto ? cores.cores : (server.n_threads as number),
    threadsAuto,
    ...(cores.with.length ? { coresShared: cores } : {}),
    promptsOneAtATime,
    ...reproducibleSettings(repackSafe, server.reproducible && batchInvariant),
    engineEnv: engineEnvOf(server.reproducible && batchInvariant, promptsOneAtATime),
    notReproducibleBecause: !server.reproducible
      ? 'server.reproducible: false in the profile: a cached prompt or a busy server may change an answer at temperature 0 (true keeps them the same; make bench says what it costs)'
      : !batchInvariant
        ? `served on ${settled.accelerator.name}: its kernels choose by batch size, so a cached prompt or a busy server may change an answer at temperature 0 (server.reproducible covers the CPU's kernels)`
        : undefined,
    repackSafe,
    parallel,
    apiKey: server.api_key === 'none' ? { kind: 'none' } : server.api_key === 'generate' ? { kind: 'generate', file: join(settled.stateDir, 'api-key') } : { kind: 'env', variable: server.api_key.slice('env:'.length) },
    apiKeyEnv: backend.apiKeyEnv,
    metrics: metricsOn({ server }),
    speculative: server.speculative === 'auto' ? (backend.speculates ? AUTO_SPECULATION : 'off') : server.speculative,
    webUi: webUiOn({ server }),
    ...(idleSleepSeconds(server.idle_sleep) ? { idleSleepSeconds: idleSleepSeconds(server.idle_sleep) } : {}),
    extraArgs: server.extra_args,
    baseUrl: `http://${clientHost(server.host)}:${server.port}/v1`,
  };
}

/** The images: names, Debian packages of each stage, the accelerator's toolchain. */
function resolveContainer(profile: Profile, name: string, accelerator: AcceleratorChoice, served: { model: PlanModel; server: Pick<Plan['server'], 'nThreads' | 'parallel'> }): Omit<Plan['container'], 'command'> {
  const base = profile.container.base;
  const baseHasPython = /(^|\/)python:/.test(base);
  const imagePackages = backendNamed(profile.server.backend).image.aptPackages({ baseHasPython, blas: profile.llama_cpp.blas });
  const toolchain = acceleratorNamed(accelerator.name).image;
  return {
    engine: profile.container.engine,
    image: profile.container.image,
    base,
    name: `llm-workbench-${name}`,
    composeProject: dnsLabel(`llm-workbench-${name}`),
    kubeName: dnsLabel(`llm-workbench-${name}`),
    kubeSecretName: dnsLabel(`llm-workbench-${name}-api-key`),
    buildAptPackages: [...imagePackages.build, ...toolchain.buildPackages],
    runtimeAptPackages: imagePackages.runtime,
    toolchain,
    jupyterAptPackages: baseHasPython ? [] : ['python3', 'python3-venv'],
    modelDir: '/models',
    cluster: resolveCluster(profile.kube, `localhost/${profile.container.image}:${name}`, served.model, served.server),
  };
}

/**
 * The server on a cluster, sized from the model: its claim holds the model and, while it is
 * fetched, the download beside it; its memory the model, its context and the server's own. The
 * context's share is a rule of thumb from the model's size (the KV cache grows with the layers
 * and heads, which only the GGUF says): about 32 MB per 1,024 tokens per GB of model, at least 16.
 */
function resolveCluster(kube: Profile['kube'], localImage: string, model: PlanModel, server: Pick<Plan['server'], 'nThreads' | 'parallel'>): Plan['container']['cluster'] {
  // A model of unknown size (https: without size_mb): room for a 7B model at Q4.
  const modelMb = model.sizeMb ?? 4096;
  const contextTokens = model.nCtx * server.parallel;
  const kvMbPerKiloToken = Math.max(16, Math.ceil((modelMb / 1024) * 32));
  return {
    replicas: kube.replicas,
    image: kube.image ?? localImage,
    ...(kube.storage_class ? { storageClass: kube.storage_class } : {}),
    fetchImage: kube.fetch_image,
    fetch: transportFor(model.source).clusterFetch(model),
    storageGi: Math.ceil((modelMb * 2) / 1024) + 1,
    memoryMi: Math.ceil(modelMb * 1.2 + (contextTokens / 1024) * kvMbPerKiloToken + 512),
    cpu: server.nThreads,
  };
}

/** A client's address for a bind address: the wildcard binds are reached on loopback. */
function clientHost(host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : urlHost(host);
}

/**
 * The Python env a profile uses: profiles that need the same packages share one, profiles that need
 * different ones get their own, so switching profiles never reinstalls an env under another
 * profile's running JupyterLab. The env of openai and JupyterLab alone keeps python.env's name; one
 * with more (the llama-cpp-python server, python.packages) is named from what it holds.
 */
export function sharedEnvName(name: string, holds: { version: string; extraPackages: string[]; condaPackages: string[]; build: string | undefined }): string {
  const base = holds.build === undefined && holds.extraPackages.length === 0;
  return base ? name : `${name}-${createHash('sha256').update(JSON.stringify(holds)).digest('hex').slice(0, 8)}`;
}

/** This user's state folders, one per profile: $LLM_WORKBENCH_STATE_DIR, else $XDG_STATE_HOME/llm-workbench. */
export function stateRootFor(env: Record<string, string | undefined>): string {
  return env.LLM_WORKBENCH_STATE_DIR || join(env.XDG_STATE_HOME || join(env.HOME ?? '/root', '.local/state'), 'llm-workbench');
}

/** Profiles live in the repo's env/ unless LLM_WORKBENCH_ENV_DIR points elsewhere. */
export function profilesDir(repoRoot: string, env: Record<string, string | undefined>): string {
  return env.LLM_WORKBENCH_ENV_DIR || join(repoRoot, 'env');
}

/**
 * The same plan with reproducible answers on or off, and what follows from it (flash attention,
 * repacking, the engine's variable): make bench measures what the setting costs.
 */
export function withReproducible(plan: Plan, reproducible: boolean): Plan {
  // The commands are worked out again: flash attention and repacking are on their argv.
  return withCommands({
    ...plan,
    server: {
      ...plan.server,
      ...reproducibleSettings(plan.server.repackSafe, reproducible),
      engineEnv: engineEnvOf(reproducible, plan.server.promptsOneAtATime),
      notReproducibleBecause: reproducible ? undefined : 'server.reproducible: false (make bench measures both)',
    },
  });
}

/**
 * The same plan served from this machine alone: no RPC workers (the build stays the RPC one, so
 * the engine is the same). make bench measures the network's cost against it, and runs its own
 * servers from it: rpc-server serves one llama-server at a time, and the profile's holds them.
 */
export function withoutRpcWorkers(plan: Plan): Plan {
  if (!plan.distributed?.workers.length) return plan;
  return withCommands({ ...plan, distributed: { ...plan.distributed, workers: [] } });
}

function reproducibleSettings(repackSafe: boolean, reproducible: boolean): Pick<Plan['server'], 'reproducible' | 'weightRepack'> {
  return {
    reproducible,
    // Repacked weights are multiplied by one kernel for a single row and another for several: a
    // token's logits would depend on its batch, so reproducible answers keep the plain layout.
    weightRepack: repackSafe && !reproducible,
  };
}

/** The variables the patched engine and llama-server read, from the two decisions they carry. */
function engineEnvOf(reproducible: boolean, promptsOneAtATime: boolean): Record<string, string> {
  return { ...(reproducible ? { [BATCH_INVARIANT_ENV]: '1' } : {}), ...(promptsOneAtATime ? { [PROMPTS_ONE_AT_A_TIME_ENV]: '1' } : {}) };
}
