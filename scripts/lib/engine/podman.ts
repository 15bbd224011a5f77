/** Podman: daemonless; `podman info` fails when its storage or runtime is unusable. */
import { cliEngine } from './cli.ts';
import type { ContainerEngine } from './types.ts';

export function podmanEngine(binary: string): ContainerEngine {
  // Buildah understands RUN --mount=type=cache natively.
  return cliEngine({ name: 'podman', binary, buildEnv: {}, probe: ['info', '--format', '{{.Host.OCIRuntime.Name}}'] });
}
