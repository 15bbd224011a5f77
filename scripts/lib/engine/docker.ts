/** Docker: the CLI is only a client; `docker info` fails when the daemon does not answer. */
import { execa } from 'execa';
import { WorkbenchError } from '../errors.ts';
import { which } from '../process/run.ts';
import { cliEngine } from './driver.ts';
import type { ContainerEngine, DeviceSpelling } from './types.ts';

/**
 * NVIDIA cards through NVIDIA's runtime hook (`--gpus`, nvidia-container-toolkit); in compose,
 * the reservation docker compose turns into the same request. /dev/dri as a plain device.
 */
export const DOCKER_DEVICES: DeviceSpelling = {
  runArgs: (device) => (device === 'nvidia' ? ['--gpus', 'all'] : ['--device', '/dev/dri']),
  compose: (device) =>
    device === 'nvidia'
      ? { deploy: { resources: { reservations: { devices: [{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }] } } } }
      : { devices: ['/dev/dri:/dev/dri'] },
};

/**
 * Our Dockerfile needs BuildKit (RUN --mount for the wheel cache and the CA secret). Docker
 * 20.10 to 22.x clients carry BuildKit themselves (DOCKER_BUILDKIT=1 is enough: Debian's
 * docker.io); from 23 on the client builds with BuildKit only through the buildx plugin, and
 * without it refuses with a message that does not say what to install.
 */
export async function dockerBuildEnv(binary: string): Promise<Record<string, string>> {
  const buildx = await execa(binary, ['buildx', 'version'], { reject: false, stdin: 'ignore' });
  if (!buildx.failed) return { DOCKER_BUILDKIT: '1' };
  const client = await execa(binary, ['version', '--format', '{{.Client.Version}}'], { reject: false, stdin: 'ignore' });
  const version = String(client.stdout).trim();
  const major = Number.parseInt(version, 10);
  if (Number.isInteger(major) && major < 23) return { DOCKER_BUILDKIT: '1' };
  throw new WorkbenchError(
    `docker ${version || '(unknown version)'} at ${binary} builds with BuildKit only through the buildx plugin, which is not installed`,
    "install it (Docker's apt repository: docker-buildx-plugin; Debian 13 and Ubuntu: docker-buildx; Docker Desktop has it), " +
      'or put a Docker 20.10 client first on PATH (Debian 12: /usr/bin/docker from docker.io), or use podman (container.engine: podman)',
  );
}

/** docker's compose plugin (v2) when it answers, else Debian's docker-compose (1.x). */
async function dockerCompose(binary: string): Promise<string[]> {
  if (!(await execa(binary, ['compose', 'version'], { reject: false, stdin: 'ignore' })).failed) return [binary, 'compose'];
  const v1 = which('docker-compose');
  if (v1) return [v1];
  throw new WorkbenchError(
    'neither the docker compose plugin nor docker-compose is installed',
    'install one (Debian/Ubuntu: sudo apt-get install docker-compose; Docker Desktop has the plugin)',
  );
}

export function dockerEngine(binary: string): ContainerEngine {
  return cliEngine({
    name: 'docker',
    binary,
    buildEnv: () => dockerBuildEnv(binary),
    probe: ['info', '--format', '{{.ServerVersion}}'],
    devices: DOCKER_DEVICES,
    buildVolumes: false,
    runReplaces: false,
    connectionEnv: ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY'],
    composeProgram: () => dockerCompose(binary),
    playsKube: false,
    notAnsweringHint: 'start the Docker daemon (sudo systemctl start docker, or start Docker Desktop with WSL integration), or use podman (LLM_WORKBENCH_CONTAINER_ENGINE=podman)',
  });
}
