/** llama.cpp's CPU code: always there, what `auto` falls back to. */
import { NO_TOOLCHAIN, type Accelerator } from '../types.ts';

export const cpuAccelerator: Accelerator = {
  name: 'cpu',
  label: 'CPU',
  device: () => ({ usable: true, device: 'CPU' }),
  cmakeArgs: () => [],
  toolchainKey: () => 'cpu',
  findings: () => [],
  buildToolchain: async () => NO_TOOLCHAIN,
  image: { buildPackages: [], runtimePackages: [] },
};
