/** The one place an accelerator's name picks its module. */
import { cpuAccelerator } from './cpu/index.ts';
import { cudaAccelerator } from './cuda/index.ts';
import type { Accelerator } from './types.ts';
import { vulkanAccelerator } from './vulkan/index.ts';
import type { AcceleratorName } from '../plan/index.ts';

const ACCELERATORS: Record<AcceleratorName, Accelerator> = { cpu: cpuAccelerator, cuda: cudaAccelerator, vulkan: vulkanAccelerator };

/** Every accelerator's name: what a profile's accelerator.kind may say besides auto (profile/schema.ts). */
export const ACCELERATOR_NAMES = Object.keys(ACCELERATORS) as [AcceleratorName, ...AcceleratorName[]];

export function acceleratorNamed(name: AcceleratorName): Accelerator {
  return ACCELERATORS[name];
}

/** The order `auto` tries them in: the fastest a machine usually has first. */
export const AUTO_ORDER: readonly AcceleratorName[] = ['cuda', 'vulkan', 'cpu'];
