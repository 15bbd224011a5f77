/** Podman: daemonless; `podman info` fails when its storage or runtime is unusable. */
import { cliEngine } from './driver.ts';
import type { ContainerEngine, DeviceSpelling } from './types.ts';

/**
 * NVIDIA cards through CDI (podman 4.1+; the spec from nvidia-ctk cdi generate); podman-compose
 * passes `devices` entries to --device, CDI names included (it ignores docker's deploy.resources).
 */
export const PODMAN_DEVICES: DeviceSpelling = {
  runArgs: (device) => ['--device', device === 'nvidia' ? 'nvidia.com/gpu=all' : '/dev/dri'],
  compose: (device) => ({ devices: [device === 'nvidia' ? 'nvidia.com/gpu=all' : '/dev/dri:/dev/dri'] }),
};

/** `podman kube play` (5.4+) takes CDI names and `podman.io/device=<path>` as resource limits. */
export function podmanKubeLimits(device: 'nvidia' | 'dri'): Record<string, number> {
  return device === 'nvidia' ? { 'nvidia.com/gpu=all': 1 } : { 'podman.io/device=/dev/dri': 1 };
}

export function podmanEngine(binary: string): ContainerEngine {
  // Buildah understands RUN --mount=type=cache and build secrets natively.
  return cliEngine({ name: 'podman', binary, buildEnv: async () => ({}), probe: ['info', '--format', '{{.Host.OCIRuntime.Name}}'], devices: PODMAN_DEVICES, buildVolumes: true });
}
