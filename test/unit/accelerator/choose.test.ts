import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chooseAccelerator, type AcceleratorProfile } from '../../../scripts/lib/accelerator/choose.ts';
import { cudaArchitectures, driverAtLeast } from '../../../scripts/lib/accelerator/cuda/index.ts';
import { chooseCudaToolkit } from '../../../scripts/lib/accelerator/cuda/toolkit.ts';
import { NO_GPU_FACTS, parseNvidiaSmi, parseVulkanSummary, readGpuFacts } from '../../../scripts/lib/accelerator/facts.ts';
import { offloadVerdict, readOffload } from '../../../scripts/lib/accelerator/offload.ts';
import { acceleratorFindings } from '../../../scripts/lib/doctor/preflight.ts';
import { loadProfile } from '../../../scripts/lib/profile/load.ts';
import { resolvePlan } from '../../../scripts/lib/profile/plan.ts';
import { profilesWith, tempDir } from '../../helpers.ts';
import type { GpuFacts } from '../../../scripts/lib/plan/index.ts';

const H200 = { name: 'NVIDIA H200', computeCap: '9.0', memoryMiB: 143771, driver: '580.159.04' };
const RTX = { name: 'NVIDIA GeForce RTX 4070 Laptop GPU', computeCap: '8.9', memoryMiB: 8188, driver: '581.15' };
const LAVAPIPE = { name: 'llvmpipe (LLVM 15.0.6, 256 bits)', type: 'cpu' as const, driver: 'llvmpipe', apiVersion: '1.3.230' };
const RADEON = { name: 'AMD Radeon 780M (RADV GFX1103_R1)', type: 'integrated' as const, driver: 'radv', apiVersion: '1.3.255' };

function facts(extra: Partial<GpuFacts> = {}): GpuFacts {
  return { ...NO_GPU_FACTS, ...extra };
}
const linuxNvidia = (gpu = H200): Partial<GpuFacts> => ({ nvidiaNodes: ['/dev/nvidia0'], nvidiaSmi: { path: '/usr/bin/nvidia-smi', gpus: [gpu] } });
const wslNvidia = (gpu = RTX, libcuda = true): Partial<GpuFacts> => ({
  wsl: { dxg: true, ...(libcuda ? { libcuda: '/usr/lib/wsl/lib/libcuda.so.1' } : {}) },
  nvidiaSmi: { path: '/usr/lib/wsl/lib/nvidia-smi', gpus: [gpu] },
});
const lavapipe: Partial<GpuFacts> = { vulkan: { vulkaninfo: '/usr/bin/vulkaninfo', devices: [LAVAPIPE], icdFiles: ['/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'] } };
const ask = (kind: AcceleratorProfile['kind'], extra: Partial<AcceleratorProfile> = {}): AcceleratorProfile => ({ kind, gpuLayers: 'auto', required: true, cudaArchitectures: 'auto', inContainer: false, ...extra });

describe('which accelerator a profile gets (accelerator/choose.ts)', () => {
  it('auto picks CUDA on an NVIDIA card, built for that card, every layer it fits', () => {
    const choice = chooseAccelerator(ask('auto'), facts(linuxNvidia()));
    assert.equal(choice.name, 'cuda');
    assert.match(choice.why, /^auto: CUDA on NVIDIA H200 \(compute 9\.0, 143771 MiB, driver 580\.159\.04\)/);
    assert.deepEqual(choice.cmakeArgs, ['-DGGML_CUDA=ON', '-DCMAKE_CUDA_ARCHITECTURES=90']);
    assert.equal(choice.gpuLayers, 'auto');
    assert.equal(choice.containerDevice, undefined, 'a native server is given no container device');
    assert.equal(choice.required, false, 'auto never fails for want of a GPU');
  });

  it('auto picks CUDA on WSL 2 through /dev/dxg and the Windows driver\'s libcuda', () => {
    const choice = chooseAccelerator(ask('auto'), facts(wslNvidia()));
    assert.equal(choice.name, 'cuda');
    assert.deepEqual(choice.cmakeArgs, ['-DGGML_CUDA=ON', '-DCMAKE_CUDA_ARCHITECTURES=89']);
  });

  it('auto takes a Vulkan GPU when there is no NVIDIA card, and says why CUDA was skipped', () => {
    const choice = chooseAccelerator(ask('auto'), facts({ vulkan: { vulkaninfo: '/usr/bin/vulkaninfo', devices: [LAVAPIPE, RADEON], icdFiles: [] } }));
    assert.equal(choice.name, 'vulkan');
    assert.match(choice.device, /AMD Radeon 780M/);
    assert.match(choice.why, /no CUDA: no NVIDIA device/);
    assert.deepEqual(choice.cmakeArgs, ['-DGGML_VULKAN=ON']);
  });

  it('auto does not take lavapipe: a CPU Vulkan device is slower than the CPU backend, and it says so', () => {
    const choice = chooseAccelerator(ask('auto'), facts(lavapipe));
    assert.equal(choice.name, 'cpu');
    assert.equal(choice.gpuLayers, undefined, 'a CPU build gets no -ngl');
    assert.deepEqual(choice.cmakeArgs, []);
    assert.match(choice.why, /no Vulkan: only CPU Vulkan devices \(llvmpipe/);
  });

  it('vulkan named explicitly serves on lavapipe (what CI runs on), with a note', () => {
    const choice = chooseAccelerator(ask('vulkan'), facts(lavapipe));
    assert.equal(choice.name, 'vulkan');
    assert.equal(choice.blocked, undefined);
    assert.match(choice.why, /a CPU Vulkan device/);
    assert.equal(choice.required, true);
  });

  it('cuda on a machine with no NVIDIA device is blocked before building, naming what is missing', () => {
    const choice = chooseAccelerator(ask('cuda'), facts());
    assert.equal(choice.name, 'cuda');
    assert.match(choice.blocked?.missing ?? '', /no NVIDIA device \(no \/dev\/nvidia0 on Linux, no \/dev\/dxg on WSL 2\)/);
    assert.match(choice.blocked?.fix ?? '', /install the NVIDIA driver/);
  });

  it('cuda made optional falls back to the CPU and says which link broke', () => {
    const choice = chooseAccelerator(ask('cuda', { required: false }), facts(wslNvidia(RTX, false)));
    assert.equal(choice.name, 'cpu');
    assert.equal(choice.blocked, undefined);
    assert.match(choice.why, /CUDA asked for, optional .*WSL 2 has \/dev\/dxg but no \/usr\/lib\/wsl\/lib\/libcuda\.so\.1: serving on the CPU \(fix: update the NVIDIA driver on Windows/);
  });

  it('a driver older than the toolkit is the missing link, with the version it needs', () => {
    const old = chooseAccelerator(ask('cuda'), facts(linuxNvidia({ ...H200, driver: '535.183.01' })));
    assert.match(old.blocked?.missing ?? '', /driver 535\.183\.01 is older than CUDA 13\.0 needs \(580\.65\.06\)/);
    const wslOld = chooseAccelerator(ask('cuda'), facts(wslNvidia({ ...RTX, driver: '566.36' })));
    assert.match(wslOld.blocked?.fix ?? '', /580\.88 or newer on Windows/);
    assert.equal(driverAtLeast('580.65.06', '580.65.06'), true);
    assert.equal(driverAtLeast('580.9', '580.65.06'), false);
  });

  it('nvidia-smi failing (a driver updated without a reboot) is named, with the fix', () => {
    const choice = chooseAccelerator(ask('cuda'), facts({ nvidiaNodes: ['/dev/nvidia0'], nvidiaSmi: { path: '/usr/bin/nvidia-smi', gpus: [], error: 'Failed to initialize NVML: Driver/library version mismatch' } }));
    assert.match(choice.blocked?.missing ?? '', /Driver\/library version mismatch/);
    assert.match(choice.blocked?.fix ?? '', /reboot/);
  });

  it('architectures: the detected cards, the profile\'s list, or a stated list when no card is there', () => {
    assert.equal(cudaArchitectures(facts(linuxNvidia()), 'auto'), '90');
    assert.equal(cudaArchitectures(facts(), 'auto'), '75;80;86;89;90;120');
    assert.equal(cudaArchitectures(facts(linuxNvidia()), '86;89'), '86;89');
  });

  it('the machine\'s CUDA toolkit builds when it has cuBLAS, else CUDA 13.0 from PyPI', () => {
    assert.equal(chooseCudaToolkit(facts({ cudaToolkits: [{ root: '/usr/local/cuda-13.0', nvcc: '/usr/local/cuda-13.0/bin/nvcc', version: '13.0', cublas: false }] })).source, 'pypi');
    assert.match(chooseCudaToolkit(facts({ cudaToolkits: [{ root: '/usr/local/cuda-13.0', nvcc: '/usr/local/cuda-13.0/bin/nvcc', version: '13.0', cublas: false }] })).describe, /\/usr\/local\/cuda-13\.0 has nvcc 13\.0 but no cuBLAS/);
    const full = chooseCudaToolkit(facts({ cudaToolkits: [{ root: '/usr/local/cuda-12.6', nvcc: '/usr/local/cuda-12.6/bin/nvcc', version: '12.6', cublas: true }] }));
    assert.equal(full.source, 'machine');
    assert.equal(full.major, 12);
    // A 12.x toolkit runs on older drivers than the wheels' 13.0.
    assert.equal(chooseAccelerator(ask('cuda'), facts({ ...linuxNvidia({ ...H200, driver: '550.54.14' }), cudaToolkits: [{ root: '/usr/local/cuda-12.6', nvcc: 'x', version: '12.6', cublas: true }] })).blocked, undefined);
  });
});

describe('what make doctor says about the GPU', () => {
  const planWith = (yaml: string, gpu: GpuFacts) => {
    const dir = profilesWith({ gpu: `extends: default\n${yaml}` });
    return resolvePlan(loadProfile('gpu', dir), { repoRoot: '/repo', env: { HOME: '/h' }, arch: 'x86_64', gpuFacts: gpu });
  };

  it('fails for a GPU asked for that is not there, with the fix and the way out', () => {
    const findings = acceleratorFindings(planWith('accelerator:\n  kind: cuda\n', facts()), facts());
    const line = findings.find((f) => f.check === 'accelerator');
    assert.equal(line?.status, 'fail');
    assert.match(line?.fix ?? '', /install the NVIDIA driver.*accelerator\.kind: auto/);
  });

  it('leaves reproducible answers off on a GPU, whose kernels choose by batch size, and on for the CPU', () => {
    const gpu = facts({ ...linuxNvidia() });
    const cuda = planWith('', gpu);
    assert.equal(cuda.accelerator.name, 'cuda');
    assert.equal(cuda.server.reproducible, false);
    assert.deepEqual(cuda.server.engineEnv, {});
    assert.match(cuda.server.notReproducibleBecause ?? '', /^served on cuda: its kernels choose by batch size/);
    // A GPU's bigger prompt batch is faster: waiting prompts stay in one batch there, one to a batch on the CPU.
    assert.equal(cuda.server.promptsOneAtATime, false);
    assert.equal(planWith('', facts()).server.promptsOneAtATime, true);
    assert.equal(planWith('', facts()).server.notReproducibleBecause, undefined);
    assert.equal(planWith('', facts()).server.reproducible, true);
  });

  it('lists each fact: the card, the toolkit, the Vulkan devices', () => {
    const gpu = facts({ ...linuxNvidia(), ...lavapipe });
    const findings = acceleratorFindings(planWith('', gpu), gpu);
    assert.match(findings.find((f) => f.check === 'accelerator')?.detail ?? '', /^cuda on NVIDIA H200/);
    assert.ok(findings.some((f) => f.check === 'nvidia' && /NVIDIA H200, compute 9\.0/.test(f.detail)));
    assert.ok(findings.some((f) => f.check === 'cuda toolkit' && /CUDA 13\.0 from PyPI/.test(f.detail)));
    assert.ok(findings.some((f) => f.check === 'vulkan 0' && /llvmpipe .*a CPU device/.test(f.detail)));
  });

  it('says whether a container can have the card (a CDI spec), with the command that makes one', () => {
    const without = facts(linuxNvidia());
    const line = acceleratorFindings(planWith('', without), without).find((f) => f.check === 'nvidia (CDI)');
    assert.match(line?.detail ?? '', /no CDI spec \(\/etc\/cdi\/nvidia\.yaml\): a podman container cannot have the GPU/);
    const docker = acceleratorFindings(planWith('', without), without).find((f) => f.check === 'nvidia (docker)');
    assert.match(docker?.fix ?? '', /nvidia-ctk runtime configure --runtime=docker/);
    assert.match(line?.fix ?? '', /nvidia-ctk cdi generate --output=\/etc\/cdi\/nvidia\.yaml/);
    const withSpec = facts({ ...linuxNvidia(), container: { cdiSpec: '/etc/cdi/nvidia.yaml', dri: false } });
    assert.match(acceleratorFindings(planWith('', withSpec), withSpec).find((f) => f.check === 'nvidia (CDI)')?.detail ?? '', /containers can have the GPU/);
  });

  it('warns when the model is larger than the card\'s memory', () => {
    const gpu = facts(linuxNvidia({ ...RTX, memoryMiB: 64 }));
    const findings = acceleratorFindings(planWith('', gpu), gpu);
    assert.equal(findings.find((f) => f.check === 'gpu memory')?.status, 'warn');
  });

  it('a container gets the GPU only through CDI or NVIDIA\'s runtime hook, and auto says why not', () => {
    const noRoute = planWith('runtime: container\n', facts(linuxNvidia()));
    assert.equal(noRoute.accelerator.name, 'cpu');
    assert.match(noRoute.accelerator.why, /no CUDA: a container cannot have the GPU: no CDI spec \(\/etc\/cdi\/nvidia\.yaml\) and no nvidia-container-runtime-hook/);
    assert.match(planWith('runtime: container\naccelerator:\n  kind: cuda\n', facts(linuxNvidia())).accelerator.blocked?.fix ?? '', /nvidia-ctk cdi generate/);
    const cdi = planWith('runtime: container\n', facts({ ...linuxNvidia(), container: { cdiSpec: '/etc/cdi/nvidia.yaml', dri: false } }));
    assert.equal(cdi.accelerator.name, 'cuda');
    assert.equal(cdi.accelerator.containerDevice, 'nvidia');
    // The image's toolkit, not the host's: the wheels under /opt/cuda, cudart and cuBLAS kept.
    assert.match(cdi.accelerator.toolchainKey, /^cuda-image-nvidia-cuda-nvcc==13\.0\.88/);
    assert.ok(cdi.container.toolchain.configureArgs.includes('-DCMAKE_CUDA_COMPILER=/opt/cuda/nvidia/cu13/bin/nvcc'));
    assert.deepEqual(cdi.container.toolchain.runtimeLibraries, ['libcudart.so*', 'libcublas.so*', 'libcublasLt.so*']);
  });

  it('lavapipe in a container needs no device (the image has Mesa, where it is device 0); a Vulkan GPU needs /dev/dri', () => {
    const both = { vulkan: { vulkaninfo: '/usr/bin/vulkaninfo', devices: [RADEON, LAVAPIPE], icdFiles: [] } };
    const onLavapipe = planWith('runtime: container\naccelerator:\n  kind: vulkan\n', facts(lavapipe));
    assert.equal(onLavapipe.accelerator.name, 'vulkan');
    assert.equal(onLavapipe.accelerator.containerDevice, undefined);
    assert.deepEqual(onLavapipe.accelerator.serverEnv, { GGML_VK_VISIBLE_DEVICES: '0' });
    assert.ok(onLavapipe.container.buildAptPackages.includes('glslc'));
    assert.ok(onLavapipe.container.toolchain.runtimePackages.includes('mesa-vulkan-drivers'));
    const noDri = chooseAccelerator(ask('vulkan', { inContainer: true }), facts(both));
    assert.match(noDri.blocked?.missing ?? '', /a container cannot reach the GPU: no \/dev\/dri/);
    const dri = chooseAccelerator(ask('vulkan', { inContainer: true }), facts({ ...both, container: { dri: true } }));
    assert.equal(dri.containerDevice, 'dri');
    assert.deepEqual(dri.serverEnv, {});
  });

  it('a CPU image is what it was: no toolkit, no device, nothing in the image for a GPU', () => {
    const plan = planWith('runtime: container\n', facts(lavapipe));
    assert.equal(plan.accelerator.name, 'cpu');
    assert.equal(plan.accelerator.toolchainKey, '');
    assert.equal(plan.container.toolchain.fetch, undefined);
  });

  it('the server command offloads on a GPU build and says nothing of GPUs on a CPU one', () => {
    const gpuPlan = planWith('accelerator:\n  kind: vulkan\n  gpu_layers: 20\n', facts(lavapipe));
    assert.deepEqual(gpuPlan.server.command.argv.slice(gpuPlan.server.command.argv.indexOf('--n-gpu-layers'), gpuPlan.server.command.argv.indexOf('--n-gpu-layers') + 2), ['--n-gpu-layers', '20']);
    const cpuPlan = planWith('', facts());
    assert.equal(cpuPlan.server.command.argv.includes('--n-gpu-layers'), false);
  });
});

describe('reading the machine (accelerator/facts.ts)', () => {
  it('parses nvidia-smi\'s CSV and vulkaninfo --summary', () => {
    assert.deepEqual(parseNvidiaSmi('NVIDIA H200, 9.0, 143771, 580.159.04\n'), [H200]);
    const summary = `==========\nVULKANINFO\n==========\n\nDevices:\n========\nGPU0:\n\tapiVersion         = 1.3.230\n\tdriverVersion      = 0.0.1\n\tdeviceType         = PHYSICAL_DEVICE_TYPE_CPU\n\tdeviceName         = llvmpipe (LLVM 15.0.6, 256 bits)\n\tdriverName         = llvmpipe\nGPU1:\n\tapiVersion         = 1.3.255\n\tdeviceType         = PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU\n\tdeviceName         = AMD Radeon 780M (RADV GFX1103_R1)\n\tdriverName         = radv\n`;
    assert.deepEqual(parseVulkanSummary(summary), [LAVAPIPE, RADEON]);
  });

  it('reads a faked machine: device nodes, a fake nvidia-smi on PATH, WSL\'s files, a CUDA toolkit without cuBLAS', () => {
    const root = tempDir('wb-sysroot-');
    for (const dir of ['dev', 'usr/lib/wsl/lib', 'bin', 'usr/local/cuda-13.0/bin', 'usr/local/cuda-13.0/targets/x86_64-linux/lib', 'etc/cdi']) mkdirSync(join(root, dir), { recursive: true });
    for (const file of ['dev/nvidia0', 'dev/nvidiactl', 'dev/dxg', 'usr/lib/wsl/lib/libcuda.so.1', 'usr/local/cuda-13.0/bin/nvcc', 'usr/local/cuda-13.0/targets/x86_64-linux/lib/libcudart.so.13', 'etc/cdi/nvidia.yaml', 'bin/nvidia-container-runtime-hook']) writeFileSync(join(root, file), '');
    writeFileSync(join(root, 'bin', 'nvidia-smi'), '#!/bin/sh\necho "NVIDIA H200, 9.0, 143771, 580.159.04"\n');
    chmodSync(join(root, 'bin', 'nvidia-smi'), 0o755);
    const read = readGpuFacts({ LLM_WORKBENCH_SYSROOT: root, PATH: join(root, 'bin') });
    assert.deepEqual(read.nvidiaNodes, ['/dev/nvidia0']);
    assert.deepEqual(read.wsl, { dxg: true, libcuda: '/usr/lib/wsl/lib/libcuda.so.1' });
    assert.deepEqual(read.nvidiaSmi.gpus, [H200]);
    assert.deepEqual(read.cudaToolkits.map((t) => [t.version, t.cublas]), [['13.0', false]]);
    assert.equal(read.container.cdiSpec, '/etc/cdi/nvidia.yaml');
    assert.equal(read.container.nvidiaRuntime, join(root, 'bin', 'nvidia-container-runtime-hook'));
    assert.equal(read.vulkan.vulkaninfo, undefined);
  });
});

describe('offload verified from the server\'s own report (accelerator/offload.ts)', () => {
  const vulkan = chooseAccelerator(ask('vulkan'), facts(lavapipe));
  const LOADED = [
    '0.00.242.295 I llama_prepare_model_devices: using device Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits)) (unknown id) - 2048 MiB free',
    '0.00.350.390 I load_tensors: offloaded 31/31 layers to GPU',
  ].join('\n');

  it('names lavapipe to ggml-vulkan, which skips CPU devices unless told', () => {
    assert.deepEqual(vulkan.serverEnv, { GGML_VK_VISIBLE_DEVICES: '0' });
    assert.deepEqual(chooseAccelerator(ask('auto'), facts({ vulkan: { vulkaninfo: 'v', devices: [LAVAPIPE, RADEON], icdFiles: [] } })).serverEnv, {});
  });

  it('reads the device and the layers, and passes a GPU build that offloaded', () => {
    assert.deepEqual(readOffload(LOADED), { device: 'Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits))', layers: { offloaded: 31, of: 31 } });
    const verdict = offloadVerdict(vulkan, readOffload(LOADED));
    assert.equal(verdict.ok, true);
    assert.equal(verdict.line, 'on Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits)): 31/31 layers offloaded');
  });

  it('fails a GPU build that ended on the CPU, with what llama.cpp said', () => {
    const cuda = chooseAccelerator(ask('cuda'), facts(linuxNvidia()));
    const insufficient = offloadVerdict(cuda, readOffload('ggml_cuda_init: failed to initialize CUDA: CUDA driver version is insufficient for CUDA runtime version\nwarning: no usable GPU found, --gpu-layers option will be ignored'));
    assert.equal(insufficient.ok, false);
    assert.match(insufficient.line, /cuda build, but the server runs on the CPU: llama\.cpp said: CUDA driver version is insufficient/);
    assert.match(insufficient.fix ?? '', /update the NVIDIA driver/);
    const none = offloadVerdict(vulkan, readOffload('0.00.047 I ggml_vulkan: No devices found.\n'));
    assert.match(none.line, /No devices found/);
    assert.match(none.fix ?? '', /not visible to the server/);
    const memory = offloadVerdict(cuda, readOffload('llama_prepare_model_devices: using device CUDA0 (NVIDIA H200) (0000:01:00.0) - 100 MiB free\nload_tensors: offloaded 0/31 layers to GPU'));
    assert.match(memory.line, /offloaded 0\/31 layers: the model does not fit the device memory/);
  });

  it('says when only some layers fit', () => {
    const some = offloadVerdict(vulkan, readOffload(LOADED.replace('31/31', '12/31')));
    assert.equal(some.ok, true);
    assert.match(some.line, /12\/31 layers offloaded \(not all/);
  });
});
