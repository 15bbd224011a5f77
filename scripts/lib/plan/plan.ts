/**
 * The plan: every decision a command acts on, resolved once from the profile and this machine
 * (profile/ resolves it; every other room reads the slice it uses). Types only: this room imports
 * nothing of ours, so any room may import it and no circle can pass through it.
 */
import type { AcceleratorChoice, ImageToolchain } from './accelerator.ts';
import type { ClusterFetch, PlanModel } from './model.ts';

export type RuntimeName = 'native' | 'container';

/**
 * What a runtime can do, decided once with the runtime (profile/runtimes.ts): the steps, the
 * doctor and the rules read these, never the runtime's name.
 */
export interface RuntimeTraits {
  /** The host compiles the server (native); else the image does, and the host needs no compiler for it. */
  buildsOnHost: boolean;
  /** The server runs in a container: a device must reach it, Docker Desktop's networking applies, an engine is required. */
  inContainer: boolean;
  /** Step 35 builds an image for it. */
  hasImageStep: boolean;
  /** It serves extra_models too (a container serves one model: the image's command names it). */
  servesSeveralModels: boolean;
  /** Where its log lives: a file in the state folder, or the container engine's log. */
  logsTo: 'state-file' | 'engine';
}

export type EngineName = 'docker' | 'podman';

export type BackendName = 'llama-cpp-python' | 'llama-server';

export interface ServerCommand {
  argv: string[];
  /** Files it reads at start (several models: a config or a preset file), written just before. */
  files: { path: string; text: string }[];
}

/** Draft-free speculative decoding on llama-server: tokens guessed from n-grams, checked in one batch. */
export type Speculation = 'off' | 'ngram-simple' | 'ngram-map-k' | 'ngram-mod' | 'ngram-cache';

/** An RPC worker llama-server connects to (--rpc host:port). */
export interface RpcWorker {
  host: string;
  port: number;
  /** host:port, as --rpc and the messages name it. */
  endpoint: string;
}

export interface Distributed {
  workers: RpcWorker[];
  /** What make rpc-worker runs here: rpc-server on one address of this machine. */
  worker: RpcWorker & { threads: number; cache: boolean; command: string[] };
}

/** Another profile's server that was serving on this machine's cores when this one's threads were chosen. */
export interface CoreSharer {
  profile: string;
  url: string;
  startedAt: string;
}

export interface Plan {
  profile: { name: string; files: string[]; description?: string };
  /** The profile's `model`: the one the notebook, the bench and single-model checks use. */
  model: PlanModel;
  /** `model` first, then `extra_models`: everything the server serves, each by its alias. */
  models: PlanModel[];
  /** CPU, CUDA or Vulkan, the device, and why (accelerator/choose.ts). */
  accelerator: AcceleratorChoice;
  llamaCpp: {
    version: string;
    blas: 'none' | 'openblas';
    /** CMAKE_ARGS where the server runs (host or image), and for the host's build. */
    cmakeArgs: string;
    hostCmakeArgs: string;
  };
  python: {
    manager: 'auto' | 'conda' | 'venv';
    envName: string;
    version: string;
    condaPackages: string[];
    pipPackages: string[];
    /** The venv route's location (conda envs live where conda keeps them). */
    venvDir: string;
    /** The env's python: the one step 20 recorded, else the venv's. A native llama_cpp.server runs under it. */
    interpreter: string;
    /** Modules the env must import for the server (llama_cpp where it serves natively), beside openai and jupyterlab. */
    serverModules: string[];
    /** Packages compiled here and installed from our cache (the llama-cpp-python wheel), never from the index. */
    builtHere?: { findLinks: string; requirement: string; build: string };
  };
  server: {
    host: string;
    port: number;
    backend: BackendName;
    /** What the server of the profile's runtime runs: the native argv and files, or the container's argv. Worked out here once. */
    command: ServerCommand;
    /** Decode threads (auto: each backend's measured rule, in its folder). */
    nThreads: number;
    /** Prompt threads (auto: every core); with `threadsAuto`, rendered files name none. */
    nThreadsBatch: number;
    threadsAuto: boolean;
    /**
     * With n_threads: auto, the cores this server's threads were chosen from: this machine's split
     * evenly with the servers of other profiles already serving (ggml's threads spin at their
     * barriers, so two servers that each take every core decode several times slower than two
     * that split them: docs/bench/). Absent when nothing else serves.
     */
    coresShared?: { cores: number; of: number; with: CoreSharer[] };
    /**
     * Whether llama.cpp may move weights into extra buffer types (AMX, repacked layouts). Off on a
     * CPU with AMX: the AMX path segfaults on the first real prompt (ggml-org/llama.cpp#20824).
     * Off when reproducible: a repacked matrix is multiplied by one kernel for one row (gemv) and
     * another for four (gemm), so a token's logits would depend on what shares its batch.
     */
    weightRepack: boolean;
    /** False on a CPU with AMX, where repacking crashes (weightRepack's first reason). */
    repackSafe: boolean;
    /** llama-server's parallel slots (1 for llama-cpp-python, which serves one request at a time). */
    parallel: number;
    apiKey: { kind: 'none' } | { kind: 'generate'; file: string } | { kind: 'env'; variable: string };
    /** The variable the server reads its key from: API_KEY (llama_cpp.server) or LLAMA_API_KEY (llama-server). */
    apiKeyEnv: 'API_KEY' | 'LLAMA_API_KEY';
    /** Prometheus /metrics on (llama-server --metrics): rules.metricsOn. */
    metrics: boolean;
    /**
     * Temperature 0 gives the same text cold, warm and beside other requests: flash attention on,
     * every query through one kernel path (llama-cpp/source-patches.ts, fa-batch-invariant). The
     * profile's server.reproducible on the CPU; off on a GPU, whose kernels still choose by batch size.
     */
    reproducible: boolean;
    /** Why answers are not promised to repeat (the profile's choice, or a GPU's kernels); undefined when they are. */
    notReproducibleBecause?: string;
    /**
     * Prompts that wait together go one to a batch (llama-server, patch prompts-one-at-a-time-1):
     * the accelerator's choice, where prompt speed does not grow with the batch (the CPU).
     */
    promptsOneAtATime: boolean;
    /** What the engine (ggml) and llama-server read from the server's environment, whatever the backend or runtime. */
    engineEnv: Record<string, string>;
    /** llama-server's draft-free speculative decoding (--spec-type); off: none. */
    speculative: Speculation;
    /**
     * llama.cpp's chat page at the server's root: built from the pinned source's tools/ui and
     * embedded in llama-server (so the build's key names it), served on the API's bind and port.
     */
    webUi: boolean;
    /** Seconds without a request after which llama-server unloads the model (--sleep-idle-seconds); absent: never. */
    idleSleepSeconds?: number;
    extraArgs: string[];
    baseUrl: string;
  };
  jupyter: { enabled: boolean; host: string; port: number; url: string; tokenFile: string; notebookDir: string };
  runtime: RuntimeName;
  runtimeTraits: RuntimeTraits;
  container: {
    engine: 'auto' | EngineName;
    image: string;
    base: string;
    /** The server container's name; JupyterLab's under compose is `<name>-jupyter`. */
    name: string;
    /** The compose project (passed with -p) and the Kubernetes object names: DNS-1123 labels. */
    composeProject: string;
    kubeName: string;
    kubeSecretName: string;
    /** Debian packages the build stage needs: compilers, CMake or a Python, BLAS headers. */
    buildAptPackages: string[];
    /** Debian packages the running images need: the shared libraries llama.cpp links (and Python for llama_cpp.server); the accelerator's are the server's only (toolchain). */
    runtimeAptPackages: string[];
    jupyterAptPackages: string[];
    /** What the image needs for the accelerator chosen (the toolkit fetched in the build stage, the flags naming it). */
    toolchain: ImageToolchain;
    modelDir: string;
    /** The server's whole argv in the image (the Dockerfile's CMD, compose's and kube's command); none for several models. */
    command: string[];
    /** kube-cluster.yaml: the server on a cluster (a StatefulSet whose pods each fetch the model into a claim of their own). */
    cluster: {
      replicas: number;
      /** The server image as the cluster pulls it. */
      image: string;
      storageClass?: string;
      /** The init container's image: a Python 3 with pip (scripts/python/fetch_model.py runs in it). */
      fetchImage: string;
      fetch: ClusterFetch;
      /** The claim's size: the model and its download beside it, with room to spare. */
      storageGi: number;
      /** Memory requested: the model, its context (a rule of thumb from the model's size) and the server's own. */
      memoryMi: number;
      /** CPU requested: the server's threads. */
      cpu: number;
    };
  };
  /**
   * llama.cpp's RPC (GGML_RPC): the workers llama-server spreads the model's layers over, and this
   * machine as a worker. Absent for a profile without `distributed`, whose build has no RPC.
   */
  distributed?: Distributed;
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
    /** Fetches the model in a cluster's init container (kube-cluster.yaml embeds it). */
    modelFetcher: string;
    /** Applies scripts/lib/llama-cpp/source-patches.ts's list in an image's build stage. */
    llamaCppPatcher: string;
    /** Our chat templates with tools (templates/chat/), for llama-server. */
    chatTemplates: string;
    lockFile: string;
    /** The lock files of the profiles it extends, nearest first (a profile made from another starts from its pins). */
    parentLockFiles: string[];
  };
}

/**
 * What a backend works the server command out from: every decision of the plan but the commands
 * themselves. The resolver settles this first, then asks the backend, then assembles the Plan.
 */
export type CommandInput = Omit<Plan, 'server' | 'container' | 'distributed'> & {
  server: Omit<Plan['server'], 'command'>;
  container: Omit<Plan['container'], 'command'>;
  distributed?: { workers: RpcWorker[]; worker: Omit<Distributed['worker'], 'command'> };
};
