/**
 * One interface per serving backend: everything that differs between llama_cpp.server and
 * llama.cpp's llama-server lives behind it, one folder each. The plan asks its backend once
 * (threads, slots, the key's variable, the host's packages, the server command); runtimes,
 * render, doctor and the bench read the plan and call the backend, never test its name. A third
 * backend is a new folder and one line in index.ts.
 */
import type { BuildArtifact } from '../llama-cpp/artifact.ts';
import type { Facts } from '../fingerprint.ts';
import type { BackendName, CommandInput, Plan, PlanModel, ServerCommand } from '../plan/index.ts';

/** What the plan needs to know before it exists: the profile's server settings, the machine's cores. */
export interface BackendChoices {
  cpuCount: number;
  parallel: number | 'auto';
  largestModelMb: number | undefined;
}

/** Endpoints a backend has beyond OpenAI's chat, completions, embeddings and models. */
export interface ApiSurface {
  /** OpenAI's /v1/responses. */
  responses: boolean;
  /** Anthropic's /v1/messages. */
  anthropicMessages: boolean;
  /** Prometheus /metrics (when the profile turns it on). */
  metrics: boolean;
}

/** How a model's tools are answered, and why they cannot be where they cannot. */
export interface ToolRoute {
  route: string;
  /** Set when the model's template cannot call tools: the reason and the fix. */
  unsupported?: string;
}

export interface ServingBackend {
  name: BackendName;
  /** How reports name it: "llama_cpp.server", "llama-server". */
  label: string;
  /** The variable the server reads its key from (never argv, where ps shows it). */
  apiKeyEnv: 'API_KEY' | 'LLAMA_API_KEY';
  /** Decode threads for `n_threads: auto` (measured; see each backend). */
  autoDecodeThreads(cpuCount: number): number;
  /** Parallel slots: several requests decoded together, or 1 for a backend that serves one at a time. */
  slots(choices: BackendChoices): number;
  /** Several models: true when every one is loaded at once (memory: their sum), false when one at a time. */
  loadsEveryModel: boolean;
  /** Several models: whether server.extra_args can apply to them (false where they come from a config file). */
  flagsForSeveralModels: boolean;
  /**
   * What the host's Python env gets when this backend serves natively (beyond JupyterLab and
   * openai): packages, the modules the server imports, and what of it is compiled here.
   */
  hostPython(plan: Pick<Plan, 'llamaCpp' | 'paths' | 'accelerator'>): { packages: string[]; modules: string[]; builtHere?: NonNullable<Plan['python']['builtHere']> };
  /** What the host compiles for a native server. */
  hostBuild: BuildArtifact;
  /** The native server: argv under the env's `python` (when it has one), and the files it reads. */
  hostCommand(plan: CommandInput, python: string): ServerCommand;
  /** The argv in the image (a compose or kube `command` replaces the CMD with it). */
  containerCommand(plan: CommandInput): string[];
  /** The native server's environment besides PATH and HOME (the key by its variable). */
  nativeEnv(plan: Plan, apiKey: string | undefined): Record<string, string>;
  /** What else decides whether a running native server can stay (beyond argv, env and model bytes). */
  nativeFacts(plan: Plan): Facts;
  /** True when it answers GET /health (200 once loaded), beside /v1/models. */
  hasHealthEndpoint: boolean;
  /** Where it counts tokens: POST path and the field holding the text. */
  tokenize: { path: string; field: string };
  /** How a model's `tools` are answered (`make doctor` and `make plan` say it per model; the smoke checks skip them where `unsupported`). */
  toolRoute(model: PlanModel): ToolRoute;
  /** The endpoints it has beyond OpenAI's chat, completions, embeddings and models (the smoke checks call them). */
  api: ApiSurface;
  /** Whether it takes server.speculative (llama-server's --spec-type); a profile asking another backend for it is refused. */
  speculates: boolean;
  /** Whether it serves llama.cpp's chat page at / (built into llama-server from tools/ui); server.web_ui: true on another is refused. */
  hasWebUi: boolean;
  /** It spreads a model over llama.cpp RPC workers (distributed.rpc_workers: llama-server --rpc). */
  spreadsOverRpc: boolean;
  /** Where it can unload the model when idle (server.idle_sleep), how to ask whether it sleeps now; absent: it cannot. */
  idleSleep?: { isSleeping(serverOrigin: string, apiKey: string | undefined): Promise<boolean | undefined> };
  /** The container image: its Dockerfile template and the values only it uses. */
  image: {
    template: string;
    /** Debian packages of its build stage and of the image that serves. */
    aptPackages(base: { baseHasPython: boolean; blas: Plan['llamaCpp']['blas'] }): { build: string[]; runtime: string[] };
    values(plan: Plan): Record<string, unknown>;
    /** Files the build context needs besides the Dockerfile (the launcher). */
    contextFiles(plan: Plan): { path: string; content: string }[];
    /** Every name contextFiles may write, whatever the profile: what a later render removes when unused. */
    contextFileNames: readonly string[];
    /** Environment the server container gets (USE_MLOCK=0 for llama_cpp.server). */
    env: Record<string, string>;
    /** How kube's probe asks: an HTTP path, or a command when the path needs the key. */
    probe(plan: Plan): { path: string; command?: string[] };
  };
  /** The one-line summary step 10 prints: what the server is built and run with. */
  summary(plan: Plan): string;
  /**
   * A server of this backend for make bench on a free loopback port, with the profile's model:
   * built (and its env made) when missing. The profile's own server is left alone.
   */
  benchServer(plan: Plan, port: number): Promise<{ argv: string[]; env: Record<string, string>; parallel: number }>;
}
