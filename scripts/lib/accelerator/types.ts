/**
 * An accelerator llama.cpp is built for and serves on: the CPU, CUDA (NVIDIA) or Vulkan (any GPU
 * with a Vulkan driver, Mesa's lavapipe included). One folder each; `accelerator/index.ts` is the
 * one place a name picks one, `choose.ts` the one place `auto` and the fallback are decided.
 */
import type { AcceleratorName, ContainerDevice, Finding, GpuFacts, ImageToolchain, Plan } from '../plan/index.ts';

export interface BuildToolchain {
  configureArgs: string[];
  env: Record<string, string>;
}

export const NO_TOOLCHAIN: BuildToolchain = { configureArgs: [], env: {} };

/** A device to run on, or the first link that is missing and how to mend it. */
export type DeviceVerdict =
  | { usable: true; device: string; memoryMiB?: number; note?: string; serverEnv?: Record<string, string>; onCpu?: boolean }
  | { usable: false; missing: string; fix: string };

/** How a container reaches the device `device()` found, or the link that is missing. */
export type ContainerAccess =
  | { usable: true; containerDevice?: ContainerDevice; serverEnv?: Record<string, string> }
  | { usable: false; missing: string; fix: string };

export interface AcceleratorSettings {
  /** `accelerator.cuda_architectures`: "auto" (the detected cards) or "86;89". */
  cudaArchitectures: string;
}

export interface Accelerator {
  name: AcceleratorName;
  label: string;
  /**
   * Whether its kernels give a token the same bits whatever shares its batch, with the engine's
   * batch-invariant patch (llama-cpp/source-patches.ts): the CPU's do; a GPU's still choose a
   * kernel by batch size, so server.reproducible cannot be promised there.
   */
  batchInvariant: boolean;
  /**
   * Whether llama-server takes prompts that wait together one to a batch: where prompt speed does
   * not grow with the batch (the CPU's), the first of them gets its first token after its own
   * prompt instead of after all of them, at no cost in total; a GPU's bigger batch is faster.
   */
  promptsOneAtATime: boolean;
  /**
   * Whether this machine can run it. `forAuto`: only a device worth more than the CPU backend
   * counts (lavapipe is a real Vulkan device, on the CPU, and slower than llama.cpp's CPU code).
   */
  device(facts: GpuFacts, options: { forAuto: boolean }): DeviceVerdict;
  /** What the build key holds beside the CMake flags: the toolkit or headers a build used ('' for none). */
  toolchainKey(facts: GpuFacts): string;
  /** llama.cpp's CMake flags for it (the programs' build and the wheel's CMAKE_ARGS alike). */
  cmakeArgs(facts: GpuFacts, settings: AcceleratorSettings): string[];
  /** `make doctor`'s lines: each fact it depends on, with its fix. */
  findings(facts: GpuFacts): Finding[];
  /** What a container needs to see the device; each engine spells it (engine/*: --device, --gpus). */
  containerAccess(facts: GpuFacts, verdict: Extract<DeviceVerdict, { usable: true }>): ContainerAccess;
  /**
   * Makes the toolkit ready for a build (installs what is missing, or stops naming it) and says
   * what CMake needs to find it: flags that name this machine's paths (kept out of the build key)
   * and the compile's environment.
   */
  buildToolchain(plan: Plan, build: { python: string; logFile: string }): Promise<BuildToolchain>;
  /** What the images need for it (nothing for the CPU). */
  image: ImageToolchain;
}
