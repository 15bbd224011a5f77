/** The accelerator a plan chose, and the machine facts it was chosen from. */

export type AcceleratorName = 'cpu' | 'cuda' | 'vulkan';

/** NVIDIA's GPUs (CDI for podman, the NVIDIA runtime for docker) or the DRI render nodes (Vulkan). */
export type ContainerDevice = 'nvidia' | 'dri';

/**
 * What an image needs for an accelerator, beside the CPU image: Debian packages, the toolkit
 * fetched in the build stage (as the host's cache holds it), the CMake flags naming where, and
 * the libraries the serving stage keeps. The paths are the image's own, fixed, so they are part
 * of what is built and the key says which toolkit.
 */
export interface ImageToolchain {
  buildPackages: string[];
  runtimePackages: string[];
  /** Shell (one line, every value quoted) run in the build stage before the compile. */
  fetch?: string;
  configureArgs: string[];
  /** Directories the serving stage copies from the build stage and adds to ld.so's path. */
  runtimeLibraryDirs: string[];
  /** Shell patterns of the files in those directories it keeps (cudart and cuBLAS, not nvcc). */
  runtimeLibraries: string[];
  toolchainKey: string;
}

export interface AcceleratorChoice {
  requested: 'auto' | AcceleratorName;
  /** What is built and served. */
  name: AcceleratorName;
  device: string;
  why: string;
  /** A GPU was named and is required: a server that ends up on the CPU is a failure. */
  required: boolean;
  /** `-ngl`: auto (llama.cpp fits what the device's memory holds) or a number; none for a CPU build. */
  gpuLayers?: 'auto' | number;
  cmakeArgs: string[];
  /** Part of the build key beside the CMake flags: the toolkit a build used (an image's own, in a container). */
  toolchainKey: string;
  /** The device a container is given (none for the CPU, nor for lavapipe, which the image has). */
  containerDevice?: ContainerDevice;
  deviceMemoryMiB?: number;
  /** What the server's environment needs to reach the device (GGML_VK_VISIBLE_DEVICES for lavapipe). */
  serverEnv: Record<string, string>;
  /** Asked for, required, and this machine cannot run it: nothing is built; the message and fix. */
  blocked?: { missing: string; fix: string };
}

export interface NvidiaGpu {
  name: string;
  /** "9.0" */
  computeCap: string;
  memoryMiB: number;
  driver: string;
}

export type VulkanDeviceType = 'discrete' | 'integrated' | 'virtual' | 'cpu' | 'other';

export interface VulkanDevice {
  name: string;
  type: VulkanDeviceType;
  driver: string;
  apiVersion: string;
}

export interface CudaToolkit {
  root: string;
  nvcc: string;
  version: string;
  /** libcublas in the toolkit (the machine image's /usr/local/cuda has none; PyPI's wheel has it). */
  cublas: boolean;
}

export interface GpuFacts {
  /** /dev/nvidia0, /dev/nvidia1, ... (Linux driver) */
  nvidiaNodes: string[];
  wsl: { dxg: boolean; libcuda?: string };
  nvidiaSmi: { path?: string; gpus: NvidiaGpu[]; error?: string };
  /** headers: the machine's vulkan_core.h, its version and whether this llama.cpp compiles with it. */
  vulkan: { vulkaninfo?: string; devices: VulkanDevice[]; icdFiles: string[]; error?: string; headers?: { version?: number; suffice: boolean } };
  cudaToolkits: CudaToolkit[];
  /** cdiSpec: podman's route to the card; nvidiaRuntime: docker's (--gpus needs NVIDIA's runtime hook); dri: Vulkan GPUs. */
  container: { cdiSpec?: string; nvidiaRuntime?: string; dri: boolean };
}
