/** llama.cpp's CPU code: always there, what `auto` falls back to. */
import { NO_TOOLCHAIN, type Accelerator } from '../types.ts';

export const cpuAccelerator: Accelerator = {
  name: 'cpu',
  label: 'CPU',
  batchInvariant: true,
  // llama-bench pp16 / pp64 / pp256 on 2 cores: 327 / 323 / 327 tokens/s.
  promptsOneAtATime: true,
  device: () => ({ usable: true, device: 'CPU' }),
  cmakeArgs: () => [],
  // No toolkit: the CPU build's key is what it was before accelerators, so cached builds stay valid.
  toolchainKey: () => '',
  findings: () => [],
  buildToolchain: async () => NO_TOOLCHAIN,
  containerAccess: () => ({ usable: true }),
  image: { buildPackages: [], runtimePackages: [], configureArgs: [], runtimeLibraryDirs: [], runtimeLibraries: [], toolchainKey: '' },
};
