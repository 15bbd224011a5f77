/** Docker: the CLI is only a client; `docker info` fails when the daemon does not answer. */
import { cliEngine } from './cli.ts';
import type { ContainerEngine } from './types.ts';

export function dockerEngine(binary: string): ContainerEngine {
  // RUN --mount=type=cache needs BuildKit (the default since Docker 23; explicit for older ones).
  return cliEngine({ name: 'docker', binary, buildEnv: { DOCKER_BUILDKIT: '1' }, probe: ['info', '--format', '{{.ServerVersion}}'] });
}
