/**
 * Which CUDA toolkit builds llama.cpp: the machine's when it has nvcc and cuBLAS (a full toolkit
 * install), else CUDA 13.0 from PyPI. Only CUDA 13's wheels carry nvcc itself (cudafe++,
 * fatbinary, nvlink: `nvidia-cuda-nvcc` 13.x, under nvidia/cu13/); the cu12 nvcc wheel has ptxas
 * and NVVM alone. One toolkit, one version: the machine's nvcc is not mixed with a wheel's cuBLAS.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WorkbenchError } from '../../errors.ts';
import { sha256Hex } from '../../fingerprint.ts';
import { runLogged } from '../../process/run.ts';
import { shellQuote, shellWords } from '../../render/quote.ts';
import type { BuildToolchain } from '../types.ts';
import type { CudaToolkit, GpuFacts, ImageToolchain, Plan } from '../../plan/index.ts';

/** The CUDA 13.0 wheels, pinned together (nvcc 13.0.88 with its own crt and NVVM). */
export const CUDA_WHEELS = [
  'nvidia-cuda-nvcc==13.0.88',
  'nvidia-cuda-crt==13.0.88',
  'nvidia-nvvm==13.0.88',
  'nvidia-cuda-runtime==13.0.96',
  'nvidia-cuda-cccl==13.0.85',
  'nvidia-cublas==13.0.2.14',
] as const;
export const CUDA_WHEELS_VERSION = '13.0';

export interface ChosenToolkit {
  source: 'machine' | 'pypi';
  version: string;
  major: number;
  /** The toolkit's root (machine), or undefined until the wheels are installed (pypi). */
  root?: string;
  describe: string;
  /** What the build key holds: a different toolkit is a different build. */
  key: string;
}

export function chooseCudaToolkit(facts: GpuFacts): ChosenToolkit {
  const full = facts.cudaToolkits.filter((t) => t.cublas).sort((a, b) => Number(b.version) - Number(a.version))[0];
  if (full) return machineToolkit(full);
  const partial = facts.cudaToolkits[0];
  const version = CUDA_WHEELS_VERSION;
  return {
    source: 'pypi',
    version,
    major: 13,
    describe: `CUDA ${version} from PyPI (${CUDA_WHEELS.map((w) => w.split('==')[0]).join(', ')})${partial ? `; ${partial.root} has nvcc ${partial.version} but no cuBLAS` : ''}`,
    key: `cuda-pypi-${CUDA_WHEELS.join(',')}`,
  };
}

function machineToolkit(toolkit: CudaToolkit): ChosenToolkit {
  return { source: 'machine', version: toolkit.version, major: Number(toolkit.version.split('.')[0]) || 0, root: toolkit.root, describe: `CUDA ${toolkit.version} at ${toolkit.root} (nvcc and cuBLAS)`, key: `cuda-machine-${toolkit.version}` };
}

/**
 * The images' CUDA: the same wheels, installed in the build stage under /opt/cuda (no registry,
 * no nvidia/cuda base image), the same links made; the serving stage keeps cudart and cuBLAS only
 * (cuBLAS is most of the 700 MB) and ld.so finds them there. Built without the VMM pool
 * (GGML_CUDA_NO_VMM): the build stage has no libcuda to link, and at run time the container gets
 * the driver's own libcuda.so.1 from CDI or NVIDIA's runtime hook.
 */
const IMAGE_PREFIX = '/opt/cuda';
const IMAGE_ROOT = wheelToolkitRoot(IMAGE_PREFIX);
export const IMAGE_CUDA: ImageToolchain = {
  buildPackages: [],
  runtimePackages: [],
  fetch: [
    `python3 -m venv /tmp/cuda-pip`,
    `/tmp/cuda-pip/bin/pip install --no-cache-dir --no-deps --only-binary=:all: --target ${IMAGE_PREFIX} ${shellWords([...CUDA_WHEELS])}`,
    `cd ${shellQuote(join(IMAGE_ROOT, 'lib'))}`,
    `for file in lib*.so.*; do [ -e "\${file%%.so.*}.so" ] || ln -s "$file" "\${file%%.so.*}.so"; done`,
    `ln -s lib ${shellQuote(join(IMAGE_ROOT, 'lib64'))}`,
    `cd /`,
    `rm -rf /tmp/cuda-pip`,
  ].join(' && '),
  configureArgs: [`-DCMAKE_CUDA_COMPILER=${join(IMAGE_ROOT, 'bin', 'nvcc')}`, `-DCUDAToolkit_ROOT=${IMAGE_ROOT}`, '-DGGML_CUDA_NO_VMM=ON'],
  runtimeLibraryDirs: [join(IMAGE_ROOT, 'lib')],
  runtimeLibraries: ['libcudart.so*', 'libcublas.so*', 'libcublasLt.so*'],
  toolchainKey: `cuda-image-${CUDA_WHEELS.join(',')}`,
};

/** The toolkit root inside a Python prefix where the wheels are installed. */
export function wheelToolkitRoot(sitePackages: string): string {
  return join(sitePackages, 'nvidia', 'cu13');
}

export function isToolkitRoot(root: string): boolean {
  return existsSync(join(root, 'bin', 'nvcc')) && existsSync(join(root, 'include', 'cuda_runtime.h'));
}

/**
 * CUDA 13.0 from PyPI, installed once into the cache (`cuda-toolkit/<digest of the pins>`) with
 * pip --target, staged then renamed so an interrupted install is never taken for a toolkit. The
 * wheels ship only versioned libraries (libcudart.so.13) in `lib`; CMake's FindCUDAToolkit looks
 * for the unversioned names and nvcc links from `lib64`, so those links are made here.
 */
export async function ensureWheelToolkit(cacheDir: string, python: string, logFile: string): Promise<string> {
  const prefix = join(cacheDir, 'cuda-toolkit', `cuda-${CUDA_WHEELS_VERSION}-${sha256Hex(CUDA_WHEELS.join(' ')).slice(0, 12)}`);
  const root = wheelToolkitRoot(prefix);
  if (isToolkitRoot(root)) return withLib64(root);
  const staging = `${prefix}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(dirname(prefix), { recursive: true });
  console.log(`  installing CUDA ${CUDA_WHEELS_VERSION} from PyPI (nvcc, cudart, cuBLAS: about 700 MB, once)`);
  await runLogged([python, '-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '--no-deps', '--only-binary=:all:', '--target', staging, ...CUDA_WHEELS], {
    label: 'installing the CUDA toolkit from PyPI',
    logFile,
    hint: 'PyPI must be reachable (the cuBLAS wheel alone is about 600 MB); a machine with a full CUDA toolkit in /usr/local/cuda uses that instead',
  });
  const lib = join(wheelToolkitRoot(staging), 'lib');
  for (const file of readdirSync(lib)) {
    const unversioned = /^(lib[\w+-]+\.so)\.\d+$/.exec(file)?.[1];
    if (unversioned && !existsSync(join(lib, unversioned))) symlinkSync(file, join(lib, unversioned));
  }
  if (!isToolkitRoot(wheelToolkitRoot(staging))) throw new WorkbenchError(`the CUDA wheels installed no nvcc in ${wheelToolkitRoot(staging)}`, `read ${logFile}`);
  rmSync(prefix, { recursive: true, force: true });
  renameSync(staging, prefix);
  return withLib64(root);
}

/** nvcc links from `<root>/lib64` (its nvcc.profile); the wheels put the libraries in `lib`. */
function withLib64(root: string): string {
  if (!existsSync(join(root, 'lib64'))) symlinkSync('lib', join(root, 'lib64'));
  return root;
}

/**
 * The libcuda ggml-cuda links for its memory pool (VMM). The driver's own first; a toolkit's
 * link-time copy (lib64/stubs) only to link against: at run time the driver's libcuda.so.1 loads.
 */
export function driverLibrary(facts: GpuFacts, root: string): string | undefined {
  const candidates = [
    ...(facts.wsl.libcuda ? [facts.wsl.libcuda] : []),
    '/usr/lib/x86_64-linux-gnu/libcuda.so.1',
    '/usr/lib/aarch64-linux-gnu/libcuda.so.1',
    '/usr/lib64/libcuda.so.1',
    join(root, 'lib64', 'stubs', 'libcuda.so'),
    join(root, 'lib', 'stubs', 'libcuda.so'),
  ];
  return candidates.find((path) => existsSync(path));
}

export async function cudaBuildToolchain(plan: Plan, build: { python: string; logFile: string }, facts: GpuFacts): Promise<BuildToolchain> {
  const toolkit = chooseCudaToolkit(facts);
  const root = toolkit.root ?? (await ensureWheelToolkit(plan.paths.cacheDir, build.python, build.logFile));
  const lib = existsSync(join(root, 'lib64')) ? join(root, 'lib64') : join(root, 'lib');
  const driver = driverLibrary(facts, root);
  return {
    configureArgs: [
      `-DCMAKE_CUDA_COMPILER=${join(root, 'bin', 'nvcc')}`,
      `-DCUDAToolkit_ROOT=${root}`,
      // The programs find cudart and cuBLAS where they were built against, with no LD_LIBRARY_PATH.
      `-DCMAKE_BUILD_RPATH=${lib}`,
      // No driver here (a build-only machine): skip the VMM pool, the one part that links libcuda.
      ...(driver ? [`-DCUDA_cuda_driver_LIBRARY=${driver}`] : ['-DGGML_CUDA_NO_VMM=ON']),
    ],
    env: { CUDACXX: join(root, 'bin', 'nvcc') },
  };
}
