/**
 * The CUDA route on a machine without an NVIDIA GPU, as far as it goes there: CUDA 13.0 from
 * PyPI's wheels installed into the test cache, llama.cpp configured with the flags and toolchain
 * the plan gives a CUDA profile (CMake finds nvcc, cudart and cuBLAS in the wheels), and a small
 * CUDA program calling cuBLAS compiled and linked the same way, finding its libraries through its
 * RPATH. It runs, and says there is no device (what this machine has). The full compile and a
 * served model are for a machine with a GPU: test/device/cuda-route.sh.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { cudaBuildToolchain } from '../../scripts/lib/accelerator/cuda/toolkit.ts';
import { NO_GPU_FACTS } from '../../scripts/lib/accelerator/facts.ts';
import { configureBuildTree } from '../../scripts/lib/llama-cpp/cmake-build.ts';
import { buildPython, downloadSdist } from '../../scripts/lib/llama-cpp/sdist.ts';
import { loadProfile } from '../../scripts/lib/profile/load.ts';
import { resolvePlan } from '../../scripts/lib/profile/plan.ts';
import { statePaths } from '../../scripts/lib/state/paths.ts';
import { tempDir } from '../helpers.ts';
import { newWorld, worldProfiles } from './support.ts';

// What make plan says for a CUDA profile on an H200 (facts as nvidia-smi gives them there).
const H200 = { ...NO_GPU_FACTS, nvidiaNodes: ['/dev/nvidia0'], nvidiaSmi: { path: '/usr/bin/nvidia-smi', gpus: [{ name: 'NVIDIA H200', computeCap: '9.0', memoryMiB: 143771, driver: '580.159.04' }] } };

const SAXPY = `
#include <cstdio>
#include <cublas_v2.h>
#include <cuda_runtime.h>
int main() {
  int devices = 0;
  cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess) { printf("cudart %d: %s\\n", CUDART_VERSION, cudaGetErrorString(status)); return 0; }
  cublasHandle_t handle;
  printf("devices %d, cublasCreate %d\\n", devices, (int)cublasCreate(&handle));
  return 0;
}
`;

describe('CUDA 13.0 from PyPI on a machine without a GPU', () => {
  it('configures llama.cpp for CUDA against the wheels, and compiles and links a cuBLAS program the same way', async () => {
    const world = newWorld();
    const envDir = worldProfiles(world, { cuda: 'extends: default\naccelerator:\n  kind: cuda\n' });
    const plan = resolvePlan(loadProfile('cuda', envDir), { repoRoot: process.cwd(), env: world.env, arch: 'x86_64', gpuFacts: H200 });
    assert.deepEqual(plan.accelerator.cmakeArgs, ['-DGGML_CUDA=ON', '-DCMAKE_CUDA_ARCHITECTURES=90']);
    const logFile = statePaths(plan).buildLog;
    const python = await buildPython(plan);
    const work = tempDir('wb-cuda-');
    const { sdist, info } = await downloadSdist(plan, python, work);

    const { build } = await configureBuildTree(plan, { python, sdist, info, work, logFile });
    const cache = readFileSync(join(build, 'CMakeCache.txt'), 'utf8');
    const toolkit = await cudaBuildToolchain(plan, { python, logFile }, NO_GPU_FACTS);
    const root = /-DCUDAToolkit_ROOT=(.+)/.exec(toolkit.configureArgs.join('\n'))?.[1] ?? '';
    assert.match(root, /cuda-toolkit\/cuda-13\.0-[0-9a-f]{12}\/nvidia\/cu13$/, 'the wheels, not a machine toolkit');
    assert.match(cache, new RegExp(`^CMAKE_CUDA_COMPILER:(FILEPATH|STRING)=${root}/bin/nvcc$`, 'm'));
    assert.match(cache, new RegExp(`^CUDA_cudart_LIBRARY:FILEPATH=${root}/lib(64)?/libcudart\\.so$`, 'm'));
    assert.match(cache, new RegExp(`^CUDA_cublas_LIBRARY:FILEPATH=${root}/lib(64)?/libcublas\\.so$`, 'm'));
    assert.match(cache, /^GGML_CUDA:BOOL=ON$/m);
    // The CUDA backend is in what Ninja would build (the tree stays configured in the test cache, so a later run finds it).
    assert.match(readFileSync(join(build, 'build.ninja'), 'utf8'), /ggml-cuda\.dir\/ggml-cuda\.cu\.o/);

    const source = join(work, 'saxpy.cu');
    writeFileSync(source, SAXPY);
    const program = join(work, 'saxpy');
    // Shared cudart and cuBLAS, as ggml-cuda links them (CUDA::cudart, CUDA::cublas).
    const nvcc = await execa(join(root, 'bin', 'nvcc'), ['-arch=sm_90', '-cudart', 'shared', '-o', program, source, `-L${root}/lib`, '-lcublas', '-Xlinker', `-rpath=${root}/lib`], { reject: false, all: true });
    assert.equal(nvcc.exitCode, 0, nvcc.all);
    const ldd = await execa('ldd', [program], { env: { PATH: process.env.PATH ?? '' }, extendEnv: false });
    assert.match(ldd.stdout, new RegExp(`libcudart\\.so\\.13 => ${root}/lib(64)?/libcudart\\.so\\.13`));
    assert.match(ldd.stdout, new RegExp(`libcublas\\.so\\.13 => ${root}/lib(64)?/libcublas\\.so\\.13`));
    const run = await execa(program, [], { reject: false, all: true, env: { PATH: process.env.PATH ?? '' }, extendEnv: false });
    assert.match(run.all, /^cudart 13000: (CUDA driver version is insufficient for CUDA runtime version|no CUDA-capable device is detected)/m, 'cudart loads and reports this machine has no device');
  });
});
