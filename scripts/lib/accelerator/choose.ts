/**
 * The accelerator a profile gets on this machine, decided once (the plan holds it): what was
 * asked, what is built and served, the device, and why, in one line a user reads in make plan,
 * make doctor and the step output. Pure: the machine comes in as facts.
 *
 * - `cpu`: the CPU.
 * - `cuda` / `vulkan`: that one when the machine can run it; when it cannot, `required: true`
 *   (the default) stops before anything is built, naming the missing link and its fix; with
 *   `required: false` the CPU serves and the reason is said once.
 * - `auto`: CUDA, then a Vulkan GPU, then the CPU, each skipped one said with its reason.
 * - In a container (runtime: container) a device counts only if the container can reach it (CDI
 *   or NVIDIA's runtime hook, /dev/dri); the image is built for what is chosen.
 */
import { WorkbenchError } from '../errors.ts';
import { acceleratorNamed, AUTO_ORDER } from './index.ts';
import type { AcceleratorSettings, DeviceVerdict } from './types.ts';
import type { AcceleratorChoice, AcceleratorName, ContainerDevice, GpuFacts } from '../plan/index.ts';

export interface AcceleratorProfile extends AcceleratorSettings {
  kind: 'auto' | AcceleratorName;
  gpuLayers: 'auto' | number;
  required: boolean;
  /** The server runs in a container: an image is built for the choice, and the container must reach the device. */
  inContainer: boolean;
}

export function chooseAccelerator(profile: AcceleratorProfile, facts: GpuFacts): AcceleratorChoice {
  const inContainer = profile.inContainer;
  const settle = (name: AcceleratorName, why: string, verdict: { device: string; memoryMiB?: number; serverEnv?: Record<string, string>; containerDevice?: ContainerDevice }): AcceleratorChoice => {
    const accelerator = acceleratorNamed(name);
    return {
      requested: profile.kind,
      name,
      device: verdict.device,
      why,
      required: profile.kind !== 'auto' && profile.kind !== 'cpu' && profile.required,
      ...(name === 'cpu' ? {} : { gpuLayers: profile.gpuLayers }),
      cmakeArgs: accelerator.cmakeArgs(facts, profile),
      toolchainKey: inContainer ? accelerator.image.toolchainKey : accelerator.toolchainKey(facts),
      serverEnv: verdict.serverEnv ?? {},
      ...(verdict.containerDevice ? { containerDevice: verdict.containerDevice } : {}),
      ...(verdict.memoryMiB ? { deviceMemoryMiB: verdict.memoryMiB } : {}),
    };
  };
  /** The machine's verdict, and in a container whether the container reaches that device. */
  const reach = (name: AcceleratorName, forAuto: boolean): DeviceVerdict & { containerDevice?: ContainerDevice } => {
    const accelerator = acceleratorNamed(name);
    const verdict = accelerator.device(facts, { forAuto });
    if (!verdict.usable || !inContainer) return verdict;
    const access = accelerator.containerAccess(facts, verdict);
    if (!access.usable) return access;
    return { ...verdict, ...(access.serverEnv ? { serverEnv: access.serverEnv } : {}), ...(access.containerDevice ? { containerDevice: access.containerDevice } : {}) };
  };

  if (profile.kind === 'cpu') return settle('cpu', 'accelerator.kind: cpu', { device: 'CPU' });

  if (profile.kind !== 'auto') {
    const asked = acceleratorNamed(profile.kind);
    const verdict = reach(profile.kind, false);
    if (verdict.usable) return settle(profile.kind, `accelerator.kind: ${profile.kind}${verdict.note ? ` (${verdict.note})` : ''}`, verdict);
    if (profile.required) {
      return { ...settle(profile.kind, `accelerator.kind: ${profile.kind}, but ${verdict.missing}`, { device: 'none' }), blocked: { missing: verdict.missing, fix: verdict.fix } };
    }
    return settle('cpu', `${asked.label} asked for, optional (accelerator.required: false), and ${verdict.missing}: serving on the CPU (fix: ${verdict.fix})`, { device: 'CPU' });
  }

  const skipped: string[] = [];
  for (const name of AUTO_ORDER) {
    const accelerator = acceleratorNamed(name);
    const verdict = reach(name, true);
    if (verdict.usable) {
      const why = name === 'cpu' ? `auto: ${skipped.join('; ')}` : `auto: ${accelerator.label} on ${verdict.device}${skipped.length ? ` (${skipped.join('; ')})` : ''}`;
      return settle(name, why, verdict);
    }
    skipped.push(`no ${accelerator.label}: ${verdict.missing}`);
  }
  throw new Error('the CPU is always usable');
}

/** Before anything is built for a GPU this machine cannot run: the missing link and its fix. */
export function assertAcceleratorUsable(choice: AcceleratorChoice, profileName: string): void {
  if (choice.blocked) {
    throw new WorkbenchError(
      `profile "${profileName}" asks for ${choice.name} (accelerator.kind), and ${choice.blocked.missing}`,
      `${choice.blocked.fix}; or accelerator.kind: auto, or accelerator.required: false to serve on the CPU`,
    );
  }
}
