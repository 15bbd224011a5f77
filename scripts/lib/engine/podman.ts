/** Podman: daemonless; `podman info` fails when its storage or runtime is unusable. */
import { WorkbenchError } from '../errors.ts';
import { which } from '../process/run.ts';
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
  return cliEngine({
    name: 'podman',
    binary,
    buildEnv: async () => ({}),
    probe: ['info', '--format', '{{.Host.OCIRuntime.Name}}'],
    devices: PODMAN_DEVICES,
    buildVolumes: true,
    // What podman generate systemd --new writes too: the unit's run replaces a leftover container.
    runReplaces: true,
    connectionEnv: ['CONTAINERS_CONF', 'CONTAINERS_STORAGE_CONF', 'CONTAINERS_REGISTRIES_CONF', 'CONTAINER_HOST', 'CONTAINER_CONNECTION'],
    // podman 4.3 has no compose verb: podman-compose runs the file with it.
    async composeProgram() {
      const podmanCompose = which('podman-compose');
      if (!podmanCompose) throw new WorkbenchError('podman-compose is not installed', 'Debian/Ubuntu: sudo apt-get install podman-compose (or pip install podman-compose)');
      return [podmanCompose];
    },
    playsKube: true,
    notAnsweringHint: 'run podman info to see what is wrong (storage, runtime); on this kind of machine podman needs runc and explicit ulimits in a containers.conf (CONTAINERS_CONF)',
  });
}
