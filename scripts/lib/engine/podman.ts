/** Podman: daemonless; `podman info` fails when its storage or runtime is unusable. */
import { cliEngine } from './driver.ts';
import type { ContainerEngine } from './types.ts';

export function podmanEngine(binary: string): ContainerEngine {
  // Buildah understands RUN --mount=type=cache and build secrets natively.
  return cliEngine({ name: 'podman', binary, buildEnv: async () => ({}), probe: ['info', '--format', '{{.Host.OCIRuntime.Name}}'] });
}
