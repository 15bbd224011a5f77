/**
 * What an `env/*.yml` profile may say, as one zod schema. The JSON Schema in `env/schema.json`
 * (for editor completion) is generated from it by `make schema`; a test keeps the two in step.
 */
import { z } from 'zod';
import { ACCELERATOR_NAMES } from '../accelerator/index.ts';
import { BACKEND_NAMES } from '../backend/index.ts';
import { ENGINE_NAMES } from '../engine/index.ts';
import { checkLlamaCppVersion } from '../llama-cpp/versions.ts';
import { RUNTIME_NAMES } from './runtimes.ts';
import { requirementProblem } from './requirement.ts';
import type { Speculation } from '../plan/index.ts';

export const port = z
  .number({ error: 'must be a port number (1-65535)' })
  .int('must be a whole number')
  .min(1, 'must be a port between 1 and 65535')
  .max(65535, 'must be a port between 1 and 65535');

const sha256 = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits (the sha256 of the model file)');

/**
 * A bind address: an IPv4 or IPv6 literal (without brackets) or a host name. It reaches argv, a
 * URL and a published port, so nothing else gets through (no spaces, slashes or newlines).
 */
const host = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(
    /^(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)$/,
    'must be an IP address (127.0.0.1, ::1, 0.0.0.0) or a host name, without brackets or a port',
  );

/**
 * A container image reference as docker and podman read it: [registry[:port]/]path[:tag][@digest].
 * It lands on a Dockerfile FROM line, so a newline or a space would inject instructions.
 */
export const IMAGE_REFERENCE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

/**
 * Flags the profile sets through its own fields: taking them raw would bypass the loopback and
 * API-key rule (--host), put a secret on the command line (--api_key) or serve another model.
 */
export const OWNED_SERVER_FLAGS: Record<string, string> = {
  '--host': 'server.host',
  '--port': 'server.port',
  '--api_key': 'server.api_key',
  '--api-key': 'server.api_key',
  '--model': 'model.source',
  '--model_alias': 'model.alias',
  '--config_file': 'extra_models',
  '--models-preset': 'extra_models',
  '--models-dir': 'extra_models',
  '--alias': 'model.alias',
  '--spec-type': 'server.speculative',
  '--webui': 'server.web_ui',
  '--no-webui': 'server.web_ui',
  '--ui': 'server.web_ui',
  '--no-ui': 'server.web_ui',
  '--path': 'server.web_ui',
  '--sleep-idle-seconds': 'server.idle_sleep',
  '--rpc': 'distributed.rpc_workers',
};

const extraArgs = z
  .array(z.string().max(1024, 'must be at most 1024 characters').regex(/^[^\0-\x1f\x7f]*$/, 'must be one line, without control characters'))
  .superRefine((args, ctx) => {
    args.forEach((arg, index) => {
      const flag = arg.split('=')[0] as string;
      const field = OWNED_SERVER_FLAGS[flag];
      if (field) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `${flag} is set by the profile, not by extra_args: use ${field}${flag === '--host' ? ' (a non-loopback host then needs server.api_key)' : ''}${flag.startsWith('--api') ? ' (a key on the command line is visible to every user in ps)' : ''}`,
        });
      }
    });
  });

const threads = z.union([z.literal('auto'), z.number().int().min(1).max(1024)]);

/** llama-server's draft-free speculation types (--spec-type of the pinned build), and off. */
export const SPECULATION_TYPES = ['off', 'ngram-simple', 'ngram-map-k', 'ngram-mod', 'ngram-cache'] as const satisfies readonly Speculation[];

/** `none`, `generate` (a random key kept in a 0600 file), or `env:NAME` (read at start). */
const apiKey = z
  .string()
  .regex(/^(none|generate|env:[A-Za-z_][A-Za-z0-9_]*)$/, 'must be "none", "generate" or "env:VARIABLE"');

export const modelSchema = z.strictObject({
  source: z
    .string()
    .max(2048, 'must be at most 2048 characters')
    .regex(/^[^\0-\x20\x7f]+$/, { message: 'must be one word: no spaces, newlines or control characters', abort: true })
    .regex(/^(hf:|pypi:|https?:\/\/|file:)/, 'must start with hf:, pypi:, https://, http:// or file:')
    .describe('Where the model comes from: hf:<owner>/<repo>:<quant> (or /<file>.gguf, @<revision> after the repo), pypi:<package>==<version>, https://... or file:/path.'),
  file: z
    .string()
    .max(255, 'must be at most 255 characters')
    .regex(/^[^\0-\x1f\x7f]+$/, 'must be one line, without control characters')
    .refine((value) => !value.split('/').includes('..'), 'must not climb out with ".."')
    .optional()
    .describe('For pypi: the GGUF path inside the wheel. For https/file: the name kept in the cache (default: the last URL segment).'),
  sha256: sha256.optional().describe('Expected sha256. When absent, the first download records it in env/<profile>.lock.json.'),
  alias: z
    .string()
    .max(128, 'must be at most 128 characters')
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'must be a model name of letters, digits, ".", "_", ":" or "-"')
    .describe('The name /v1/models lists.'),
  chat_format: z.string().max(64, 'must be at most 64 characters').regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a chat format name such as llama-2 or chatml').optional().describe('llama-cpp-python chat format (chatml, llama-2, gemma, ...). auto or absent: read from the GGUF\'s own template, so a swapped model gets the tool-capable template of its family.'),
  n_ctx: z.number().int().min(64).max(1048576).default(2048),
  pooling: z
    .enum(['mean', 'cls', 'last'])
    .default('mean')
    .describe('How token vectors become one embedding per input (docs/decisions.md#llama_cppserver: chat models have none of their own).'),
  size_mb: z.number().positive().optional().describe('Approximate file size, used by the preflight disk and memory checks (hf: read from the repo, not needed).'),
});

export const llamaCppSchema = z.strictObject({
  version: z
    .string()
    // abort: zod 4 runs later refinements after a failed format check unless told not to, and
    // the version check below needs a version to compare.
    .regex(/^\d+\.\d+\.\d+$/, { message: 'must be an exact version such as "0.3.36" (not a range or "latest": the build and the lock are for one release)', abort: true })
    .superRefine((value, ctx) => {
      const problem = checkLlamaCppVersion(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  blas: z.enum(['none', 'openblas']).default('none').describe('BLAS backend compiled into llama.cpp.'),
});

export const pythonSchema = z.strictObject({
  manager: z.enum(['auto', 'conda', 'venv']).default('auto'),
  env: z.string().max(64, 'must be at most 64 characters').regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be an environment name of letters, digits, ".", "_" or "-"'),
  version: z.string().regex(/^3\.\d+$/, 'must be a Python version such as "3.11"'),
  blas: z.enum(['default', 'mkl']).default('default').describe('conda only: mkl adds blas=*=*mkl on x86_64.'),
  packages: z
    .array(
      z.string().superRefine((value, ctx) => {
        const problem = requirementProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    )
    .default([])
    .describe('Extra pip packages for the environment, as PEP 508 requirements ("pandas>=2", "rich[jupyter]", "name @ https://..."); no pip options, paths or bare URLs.'),
});

export const serverSchema = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(8080),
  backend: z
    .enum(BACKEND_NAMES)
    .default('llama-server')
    .describe('The serving backend: llama-server (llama.cpp\'s own server, the default: make bench measured it at the engine\'s speed) or llama-cpp-python (llama_cpp.server, the guide\'s), both built from the same pinned source. Not to be confused with container.engine.'),
  n_threads: threads
    .default('auto')
    .describe('CPU threads; auto: every core for the prompt (llama-bench pp64 on 2 cores: 127-173 tok/s on 1 thread, 307-327 on 2); for decode every core with llama-server (tg64: 66-80 on 1 thread, 99-120 on 2), every core but one with llama_cpp.server, whose Python threads need a core (served decode 54 against 46 tok/s).'),
  parallel: z
    .union([z.literal('auto'), z.number().int().min(1).max(64)])
    .default('auto')
    .describe('llama-server only: parallel slots (continuous batching); auto: 4 for a model under 2 GB, else 1.'),
  api_key: apiKey.default('none'),
  allow_unauthenticated: z
    .boolean()
    .default(false)
    .describe('Explicit opt-out: serve on a non-loopback address without an API key.'),
  metrics: z
    .union([z.literal('auto'), z.boolean()])
    .default('auto')
    .describe("llama-server's Prometheus /metrics: auto turns it on on a loopback address, or with an API key (it then needs the key); true on another address needs server.api_key. llama_cpp.server has none."),
  reproducible: z
    .boolean()
    .default(true)
    .describe("The same request gives the same answer at temperature 0, whether its prompt was cached or not and whatever else the server is doing: every token's attention takes one path in llama.cpp's CPU kernels (the guide's promise, 毎回返答が変わらないように). false: llama.cpp's faster paths by batch shape (make bench reports the cost). The same build, model, device and threads; CPU only: on a GPU it is off (its kernels still choose by batch size) and make smoke-test says so."),
  speculative: z
    .union([z.literal('auto'), z.enum(SPECULATION_TYPES)])
    .default('auto')
    .describe("Draft-free speculative decoding (llama-server's --spec-type): tokens guessed from n-grams of the prompt and the answer so far, checked in one batch; the answer is the same as without it (the smoke check's reproducible triples, log-probabilities included). Pays on output that repeats its input (code edits, JSON, quoting). auto: ngram-map-k where the backend speculates (llama-server), off where it cannot (llama-cpp-python): make bench measured every mode on 2 cores and ngram-map-k was faster than off on both the guide's prompts and code rewrites without slowing 4 clients (docs/bench/). off: one token per step."),
  web_ui: z
    .union([z.literal('auto'), z.boolean()])
    .default('auto')
    .describe("llama.cpp's chat page at the server's root (/), built from the pinned source's tools/ui with npm and embedded in llama-server. auto: on for llama-server, which has it; false builds llama-server without it (no npm needed; changing it rebuilds llama-server). On a key-protected server the page asks for the key (make status says where it is) and the API still refuses requests without it. llama_cpp.server has no page."),
  idle_sleep: z
    .union([z.literal('off'), z.string().regex(/^[1-9]\d{0,5}(s|m|h)$/, 'must be off or a duration such as 90s, 10m or 1h')])
    .default('off')
    .describe('llama-server only: after this long without a request the server unloads the model and frees its memory (--sleep-idle-seconds); the next request loads it again (make bench measures what that first answer waits). make status says sleeping. off: the model stays loaded.'),
  extra_args: extraArgs.default([]).describe('Raw llama_cpp.server flags, appended last (not those the profile owns: --host, --port, --api_key, ...).'),
});

export const acceleratorSchema = z.strictObject({
  kind: z
    .enum(['auto', ...ACCELERATOR_NAMES])
    .default('auto')
    .describe('What llama.cpp is built for and serves on. auto: CUDA on an NVIDIA GPU (Linux or WSL 2), else a Vulkan GPU, else the CPU; make doctor and make plan say which and why.'),
  gpu_layers: z
    .union([z.literal('auto'), z.number().int().min(0).max(9999)])
    .default('auto')
    .describe('Layers offloaded to the GPU: auto (llama.cpp fits what the device memory holds) or a number.'),
  required: z
    .boolean()
    .default(true)
    .describe('With kind cuda or vulkan: a machine that cannot run it stops provisioning, and a server that ends on the CPU fails. false: serve on the CPU and say why once.'),
  cuda_architectures: z
    .union([z.literal('auto'), z.string().regex(/^\d{2,3}[af]?(;\d{2,3}[af]?)*$/, 'must be CMake CUDA architectures such as "86" or "86;89;90"')])
    .default('auto')
    .describe('CUDA architectures compiled: auto (the cards nvidia-smi lists, else 75;80;86;89;90;120).'),
});

export const jupyterSchema = z.strictObject({
  enabled: z.boolean().default(true),
  host: host.default('127.0.0.1'),
  port: port.default(18888),
});

export const containerSchema = z.strictObject({
  engine: z.enum(['auto', ...ENGINE_NAMES]).default('auto'),
  image: z.string().max(128, 'must be at most 128 characters').regex(/^[a-z0-9][a-z0-9._\/-]*$/, 'must be an image name in lower case').default('llm-workbench'),
  base: z
    .string()
    .max(255, 'must be at most 255 characters')
    .regex(IMAGE_REFERENCE, 'must be an image reference such as python:3.11-slim-bookworm or localhost/debian-base:bookworm (no spaces or newlines)')
    .default('python:3.11-slim-bookworm'),
});

export const kubeSchema = z.strictObject({
  replicas: z.number().int().min(1).max(100).default(1).describe('Pods serving the model behind the Service in build/<profile>/kube-cluster.yaml; each fetches its own copy of the model into a claim of its own.'),
  image: z
    .string()
    .max(255, 'must be at most 255 characters')
    .regex(IMAGE_REFERENCE, 'must be an image reference such as registry.example.com/llm-workbench:default (no spaces or newlines)')
    .optional()
    .describe("The server image as the cluster pulls it (push make image's build to a registry the cluster reads); default: the local tag."),
  storage_class: z
    .string()
    .max(253, 'must be at most 253 characters')
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a StorageClass name (lower case letters, digits, - and .)')
    .optional()
    .describe("The StorageClass of the model's claims; default: the cluster's default class."),
  fetch_image: z
    .string()
    .max(255, 'must be at most 255 characters')
    .regex(IMAGE_REFERENCE, 'must be an image reference such as python:3.12-slim-bookworm (no spaces or newlines)')
    .default('python:3.12-slim-bookworm')
    .describe('The init container that fetches the model into its claim: any image with Python 3 and pip.'),
});

/**
 * A worker's address as llama-server's --rpc takes it: host:port. ggml-rpc splits at the first
 * colon, so an IPv6 literal cannot be spelled (a host name that resolves to one can).
 */
const rpcEndpoint = z
  .string()
  .max(260, 'must be at most 260 characters')
  .regex(/^(?:(?:\d{1,3}\.){3}\d{1,3}|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*):\d{1,5}$/, 'must be host:port such as 192.168.1.20:50052 (an IPv4 address or a host name; ggml-rpc cannot parse an IPv6 literal)')
  .refine((value) => Number(value.split(':')[1]) >= 1 && Number(value.split(':')[1]) <= 65535, 'must end in a port between 1 and 65535')
  .refine((value) => !/^0\.0\.0\.0:/.test(value), 'must name the worker\'s own address, not 0.0.0.0');

/** The address a worker binds: one the user names, never every interface (rpc-server has no authentication). */
export const workerHost = host.refine((value) => !['0.0.0.0', '::', '[::]'].includes(value), 'must be one address of this machine (the interface facing the server), not every interface: rpc-server has no authentication and runs whatever a client sends');

export const distributedSchema = z.strictObject({
  rpc_workers: z
    .array(rpcEndpoint)
    .max(16, 'must list at most 16 workers')
    .default([])
    .describe("llama.cpp RPC: workers (host:port, each running make rpc-worker) that hold part of the model's layers; llama-server spreads them over its own device and these by free memory (--rpc). Each is checked before the server starts. Unauthenticated and unencrypted: keep them on a network of your own."),
  worker: z
    .strictObject({
      host: workerHost.default('127.0.0.1').describe('What make rpc-worker binds rpc-server to: one address of this machine (HOST=... on the command line overrides it), never 0.0.0.0.'),
      port: port.default(50052).describe('rpc-server\'s port (PORT=... overrides it).'),
      threads: threads.default('auto').describe('CPU threads of the worker\'s CPU device; auto: every core.'),
      cache: z.boolean().default(false).describe("rpc-server -c: keep large tensors in a local cache (~/.cache/llama.cpp/rpc), so a server that loads the same model again sends hashes instead of weights."),
    })
    .prefault({})
    .describe('This machine as a worker (make rpc-worker): rpc-server from the same pinned source and accelerator choice.'),
});

export const profileSchema = z.strictObject({
  $schema: z.string().max(1024).optional(),
  extends: z.string().optional().describe('Name of the profile this one builds on (env/<name>.yml).'),
  description: z.string().max(2000, 'must be at most 2000 characters').optional(),
  model: modelSchema,
  extra_models: z
    .array(modelSchema)
    .default([])
    .describe('More models served beside `model` at the same endpoint, each called by its alias (native runtime). `model` stays the one the notebook and the bench use.'),
  llama_cpp: llamaCppSchema,
  python: pythonSchema,
  server: serverSchema.prefault({}),
  accelerator: acceleratorSchema.prefault({}),
  jupyter: jupyterSchema.prefault({}),
  runtime: z.enum(RUNTIME_NAMES).default('native'),
  container: containerSchema.prefault({}),
  kube: kubeSchema.prefault({}).describe('build/<profile>/kube-cluster.yaml: the model server on a Kubernetes cluster.'),
  distributed: distributedSchema.optional().describe("A model spread over machines with llama.cpp's RPC: the server's workers, and this machine as one (make rpc-worker). Present: llama.cpp is built with GGML_RPC (its own build; profiles without it keep theirs)."),
});

export type Profile = z.output<typeof profileSchema>;

/** The JSON Schema editors use for `env/*.yml`. Partial on purpose: a profile that extends another may omit anything. */
export function profileJsonSchema(): object {
  const schema = z.toJSONSchema(profileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete schema.required;
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  for (const property of Object.values(properties)) delete property.required;
  return { ...schema, title: 'llm-workbench profile' };
}
