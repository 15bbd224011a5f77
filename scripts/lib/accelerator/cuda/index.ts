/**
 * CUDA: NVIDIA GPUs on Linux (/dev/nvidia*) and on WSL 2 (/dev/dxg and the Windows driver's
 * libcuda in /usr/lib/wsl/lib). Built with the machine's CUDA toolkit when it has cuBLAS, else
 * with CUDA 13.0 from PyPI's wheels (cuda/toolkit.ts): no registry, no nvidia/cuda base image.
 */
import type { Accelerator } from '../types.ts';
import { gpuFacts } from '../facts.ts';
import { chooseCudaToolkit, cudaBuildToolchain, IMAGE_CUDA } from './toolkit.ts';
import type { Finding, GpuFacts } from '../../plan/index.ts';

/** Architectures built when no card is there to ask (a build for another machine, CI): Turing onwards, CUDA 13's range. */
export const STATED_ARCHITECTURES = '75;80;86;89;90;120';

const DRIVER = 'install the NVIDIA driver (on WSL 2: the Windows driver only, nothing inside WSL)';

/** The oldest driver a toolkit's programs run on (NVIDIA's CUDA release notes, table 3, minor version compatibility). */
export function minimumDriver(cudaMajor: number, wsl: boolean): string {
  if (cudaMajor >= 13) return wsl ? '580.88' : '580.65.06';
  return wsl ? '528.33' : '525.60.13';
}

export function driverAtLeast(driver: string, minimum: string): boolean {
  const a = driver.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

export function cudaArchitectures(facts: GpuFacts, setting: string): string {
  if (setting !== 'auto') return setting;
  const detected = [...new Set(facts.nvidiaSmi.gpus.map((gpu) => gpu.computeCap.replace('.', '')).filter((cap) => /^\d{2,3}$/.test(cap)))];
  return detected.length ? detected.join(';') : STATED_ARCHITECTURES;
}

export const cudaAccelerator: Accelerator = {
  name: 'cuda',
  label: 'CUDA',
  batchInvariant: false,
  promptsOneAtATime: false,
  device(facts) {
    const wsl = facts.wsl.dxg;
    if (facts.nvidiaNodes.length === 0 && !wsl) return { usable: false, missing: 'no NVIDIA device (no /dev/nvidia0 on Linux, no /dev/dxg on WSL 2)', fix: DRIVER };
    if (wsl && facts.nvidiaNodes.length === 0 && !facts.wsl.libcuda) {
      return { usable: false, missing: 'WSL 2 has /dev/dxg but no /usr/lib/wsl/lib/libcuda.so.1', fix: 'update the NVIDIA driver on Windows (its WSL support provides libcuda), then run wsl --shutdown' };
    }
    if (!facts.nvidiaSmi.path) return { usable: false, missing: 'no nvidia-smi: the driver\'s user-space tools are missing', fix: wsl ? 'update the NVIDIA driver on Windows' : 'install the NVIDIA driver\'s utilities (Debian: nvidia-smi)' };
    if (facts.nvidiaSmi.error) return { usable: false, missing: `nvidia-smi failed: ${facts.nvidiaSmi.error}`, fix: 'the kernel module and the driver libraries differ (a driver update without a reboot): reboot, or reinstall the driver' };
    const gpu = facts.nvidiaSmi.gpus[0];
    if (!gpu) return { usable: false, missing: 'nvidia-smi lists no GPU', fix: DRIVER };
    const toolkit = chooseCudaToolkit(facts);
    const minimum = minimumDriver(toolkit.major, wsl);
    if (!driverAtLeast(gpu.driver, minimum)) {
      return { usable: false, missing: `driver ${gpu.driver} is older than CUDA ${toolkit.version} needs (${minimum})`, fix: `update the NVIDIA driver to ${minimum} or newer${wsl ? ' on Windows' : ''}` };
    }
    const cap = Number(gpu.computeCap);
    if (toolkit.major >= 13 && cap > 0 && cap < 7.5) {
      return { usable: false, missing: `${gpu.name} is compute ${gpu.computeCap}; CUDA 13 builds for 7.5 (Turing) and newer`, fix: 'use accelerator.kind: vulkan for this card' };
    }
    return { usable: true, device: `${gpu.name} (compute ${gpu.computeCap}, ${gpu.memoryMiB} MiB, driver ${gpu.driver})`, memoryMiB: gpu.memoryMiB };
  },
  toolchainKey: (facts) => chooseCudaToolkit(facts).key,
  cmakeArgs: (facts, settings) => ['-DGGML_CUDA=ON', `-DCMAKE_CUDA_ARCHITECTURES=${cudaArchitectures(facts, settings.cudaArchitectures)}`],
  findings(facts: GpuFacts): Finding[] {
    const findings: Finding[] = [];
    if (facts.nvidiaNodes.length) findings.push({ check: 'nvidia', status: 'info', detail: `device nodes ${facts.nvidiaNodes.join(', ')}` });
    if (facts.wsl.dxg) {
      findings.push(
        facts.wsl.libcuda
          ? { check: 'nvidia (WSL)', status: 'info', detail: `/dev/dxg and ${facts.wsl.libcuda}: the Windows driver reaches WSL` }
          : { check: 'nvidia (WSL)', status: 'warn', detail: '/dev/dxg without /usr/lib/wsl/lib/libcuda.so.1', fix: 'update the NVIDIA driver on Windows, then wsl --shutdown' },
      );
    }
    for (const gpu of facts.nvidiaSmi.gpus) findings.push({ check: 'nvidia', status: 'info', detail: `${gpu.name}, compute ${gpu.computeCap}, ${gpu.memoryMiB} MiB, driver ${gpu.driver}` });
    if (facts.nvidiaSmi.error) findings.push({ check: 'nvidia', status: 'warn', detail: `nvidia-smi failed: ${facts.nvidiaSmi.error}`, fix: 'reboot after a driver update, or reinstall the driver' });
    const toolkit = chooseCudaToolkit(facts);
    findings.push({ check: 'cuda toolkit', status: 'info', detail: toolkit.describe });
    // A container reaches the card through CDI (podman --device nvidia.com/gpu=all) or the NVIDIA
    // runtime (docker --gpus all); both come from nvidia-container-toolkit.
    if (facts.nvidiaNodes.length || facts.wsl.dxg) {
      findings.push(
        facts.container.cdiSpec
          ? { check: 'nvidia (CDI)', status: 'info', detail: `${facts.container.cdiSpec}: containers can have the GPU (podman --device nvidia.com/gpu=all)` }
          : { check: 'nvidia (CDI)', status: 'info', detail: 'no CDI spec (/etc/cdi/nvidia.yaml): a podman container cannot have the GPU', fix: 'install nvidia-container-toolkit, then sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml' },
        facts.container.nvidiaRuntime
          ? { check: 'nvidia (docker)', status: 'info', detail: `${facts.container.nvidiaRuntime}: docker containers can have the GPU (--gpus all)` }
          : { check: 'nvidia (docker)', status: 'info', detail: 'no nvidia-container-runtime-hook: a docker container cannot have the GPU', fix: 'install nvidia-container-toolkit, then sudo nvidia-ctk runtime configure --runtime=docker and restart docker' },
      );
    }
    return findings;
  },
  // podman: CDI (--device nvidia.com/gpu=all); docker: NVIDIA's runtime hook (--gpus all).
  containerAccess: (facts) =>
    facts.container.cdiSpec || facts.container.nvidiaRuntime
      ? { usable: true, containerDevice: 'nvidia' }
      : { usable: false, missing: 'a container cannot have the GPU: no CDI spec (/etc/cdi/nvidia.yaml) and no nvidia-container-runtime-hook', fix: 'install nvidia-container-toolkit, then sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml (podman), or sudo nvidia-ctk runtime configure --runtime=docker (docker)' },
  buildToolchain: (plan, build) => cudaBuildToolchain(plan, build, gpuFacts()),
  image: IMAGE_CUDA,
};
