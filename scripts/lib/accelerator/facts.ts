/**
 * What this machine has for running llama.cpp on a GPU, read from the machine itself: device
 * nodes, nvidia-smi, WSL 2's /dev/dxg and libcuda, vulkaninfo and the Vulkan ICD files, CUDA
 * toolkits, and for containers the CDI spec and /dev/dri. Plain data, so the choice
 * (accelerator/choose.ts) and every doctor line are pure functions of it and tests fake it.
 *
 * `LLM_WORKBENCH_SYSROOT` prefixes every path read (tests build a machine in a folder), and the
 * tools are found on the environment's PATH (tests put a fake nvidia-smi there).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { headersSuffice, headerVersion, SYSTEM_HEADER } from './vulkan/headers.ts';
import type { CudaToolkit, GpuFacts, NvidiaGpu, VulkanDevice, VulkanDeviceType } from '../plan/index.ts';

export const NO_GPU_FACTS: GpuFacts = {
  nvidiaNodes: [],
  wsl: { dxg: false },
  nvidiaSmi: { gpus: [] },
  vulkan: { devices: [], icdFiles: [] },
  cudaToolkits: [],
  container: { dri: false },
};

function findOnPath(tool: string, env: Record<string, string | undefined>, root: string): string | undefined {
  const dirs = (env.PATH ?? '/usr/bin:/bin').split(delimiter).filter(Boolean);
  if (root !== '/') dirs.push(join(root, 'usr/bin'), join(root, 'usr/lib/wsl/lib'));
  else dirs.push('/usr/lib/wsl/lib');
  return dirs.map((dir) => join(dir, tool)).find((path) => existsSync(path));
}

function run(tool: string, args: string[], env: Record<string, string | undefined>): { out?: string; error?: string } {
  try {
    return { out: execFileSync(tool, args, { env: env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (error) {
    const e = error as { stderr?: string; message: string; code?: string };
    return { error: (e.stderr || e.message).trim().split('\n').slice(-1)[0] ?? e.code ?? 'failed' };
  }
}

/** `nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader,nounits` */
export function parseNvidiaSmi(text: string): NvidiaGpu[] {
  return text
    .split('\n')
    .map((line) => line.split(',').map((part) => part.trim()))
    .filter((parts) => parts.length >= 4 && parts[0])
    .map(([name, computeCap, memory, driver]) => ({ name: name!, computeCap: computeCap!, memoryMiB: Number(memory) || 0, driver: driver! }));
}

/** `vulkaninfo --summary`: the Devices section, one block per GPUn. */
export function parseVulkanSummary(text: string): VulkanDevice[] {
  const devices: VulkanDevice[] = [];
  const section = text.split(/^Devices:\s*$/m)[1] ?? '';
  for (const block of section.split(/^GPU\d+:\s*$/m).slice(1)) {
    const field = (name: string) => new RegExp(`^\\s*${name}\\s*=\\s*(.+)$`, 'm').exec(block)?.[1]?.trim() ?? '';
    const rawType = field('deviceType');
    const type: VulkanDeviceType = /DISCRETE/.test(rawType) ? 'discrete' : /INTEGRATED/.test(rawType) ? 'integrated' : /VIRTUAL/.test(rawType) ? 'virtual' : /CPU/.test(rawType) ? 'cpu' : 'other';
    devices.push({ name: field('deviceName'), type, driver: field('driverName') || field('driverID'), apiVersion: field('apiVersion') });
  }
  return devices;
}

function cudaToolkitsUnder(root: string): CudaToolkit[] {
  const local = join(root, 'usr/local');
  const candidates = existsSync(local) ? readdirSync(local).filter((name) => /^cuda(-\d+\.\d+)?$/.test(name)).map((name) => join(local, name)) : [];
  const toolkits: CudaToolkit[] = [];
  // /usr/local/cuda is usually a link to /usr/local/cuda-13.0: one toolkit, named by its real folder.
  for (const dir of [...new Set(candidates.filter((d) => existsSync(d)).map((d) => realpathSync(d)))]) {
    const nvcc = join(dir, 'bin', 'nvcc');
    if (!existsSync(nvcc)) continue;
    const version = /cuda-(\d+\.\d+)$/.exec(dir)?.[1] ?? versionFile(dir);
    const libs = [join(dir, 'lib64'), join(dir, 'targets', 'x86_64-linux', 'lib'), join(dir, 'targets', 'sbsa-linux', 'lib')];
    const cublas = libs.some((lib) => existsSync(lib) && readdirSync(lib).some((f) => f.startsWith('libcublas.so')));
    toolkits.push({ root: dir, nvcc, version, cublas });
  }
  return toolkits;
}

function versionFile(dir: string): string {
  try {
    const json = JSON.parse(readFileSync(join(dir, 'version.json'), 'utf8')) as { cuda?: { version?: string } };
    return /^(\d+\.\d+)/.exec(json.cuda?.version ?? '')?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function readGpuFacts(env: Record<string, string | undefined> = process.env): GpuFacts {
  const root = env.LLM_WORKBENCH_SYSROOT || '/';
  const at = (path: string) => join(root, path);
  const dev = at('dev');
  const nvidiaNodes = existsSync(dev) ? readdirSync(dev).filter((name) => /^nvidia\d+$/.test(name)).map((name) => `/dev/${name}`) : [];
  const libcuda = ['usr/lib/wsl/lib/libcuda.so.1', 'usr/lib/wsl/lib/libcuda.so'].find((path) => existsSync(at(path)));
  const wsl = { dxg: existsSync(at('dev/dxg')), ...(libcuda ? { libcuda: `/${libcuda}` } : {}) };

  const smiPath = findOnPath('nvidia-smi', env, root);
  const nvidiaSmi: GpuFacts['nvidiaSmi'] = { gpus: [] };
  if (smiPath && (nvidiaNodes.length > 0 || wsl.dxg)) {
    nvidiaSmi.path = smiPath;
    const result = run(smiPath, ['--query-gpu=name,compute_cap,memory.total,driver_version', '--format=csv,noheader,nounits'], env);
    if (result.out !== undefined) nvidiaSmi.gpus = parseNvidiaSmi(result.out);
    else nvidiaSmi.error = result.error;
  }

  const icdDirs = ['usr/share/vulkan/icd.d', 'etc/vulkan/icd.d'].map(at).filter((dir) => existsSync(dir));
  const icdFiles = icdDirs.flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f)));
  const vulkaninfo = findOnPath('vulkaninfo', env, root);
  const vulkan: GpuFacts['vulkan'] = { devices: [], icdFiles };
  const header = at(SYSTEM_HEADER);
  if (existsSync(header)) {
    const version = headerVersion(readFileSync(header, 'utf8'));
    vulkan.headers = { ...(version !== undefined ? { version } : {}), suffice: headersSuffice(header) };
  }
  if (vulkaninfo) {
    vulkan.vulkaninfo = vulkaninfo;
    const result = run(vulkaninfo, ['--summary'], env);
    if (result.out !== undefined) vulkan.devices = parseVulkanSummary(result.out);
    else vulkan.error = result.error;
  }

  const cdiSpec = ['etc/cdi/nvidia.yaml', 'var/run/cdi/nvidia.yaml', 'etc/cdi/nvidia.json'].find((path) => existsSync(at(path)));
  const nvidiaRuntime = ['nvidia-container-runtime-hook', 'nvidia-container-runtime'].map((tool) => findOnPath(tool, env, root)).find(Boolean);
  return {
    nvidiaNodes,
    wsl,
    nvidiaSmi,
    vulkan,
    cudaToolkits: cudaToolkitsUnder(root),
    container: { ...(cdiSpec ? { cdiSpec: `/${cdiSpec}` } : {}), ...(nvidiaRuntime ? { nvidiaRuntime } : {}), dri: existsSync(at('dev/dri')) },
  };
}

let memo: { key: string; facts: GpuFacts } | undefined;

/** Read once per process and environment (make provision plans before every step). */
export function gpuFacts(env: Record<string, string | undefined> = process.env): GpuFacts {
  const key = `${env.LLM_WORKBENCH_SYSROOT ?? ''}\0${env.PATH ?? ''}`;
  if (memo?.key !== key) memo = { key, facts: readGpuFacts(env) };
  return memo.facts;
}
