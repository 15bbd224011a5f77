import type { ContainerDevice } from '../plan/index.ts';

/**
 * One interface for container engines (as RamaLama's engine.py): callers never branch on which
 * engine they have. A new engine is one new file registered in index.ts.
 */

export interface PortMapping {
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

export interface VolumeMount {
  host: string;
  container: string;
  readOnly: boolean;
}

export interface RunSpec {
  name: string;
  image: string;
  ports: PortMapping[];
  volumes: VolumeMount[];
  /** Values set in the container. */
  env: Record<string, string>;
  /** Names passed through from our environment (`--env NAME`): secrets never appear in argv. */
  passEnv: string[];
  capAdd: string[];
  /** GPUs the container is given; each engine spells them (podman CDI, docker --gpus). */
  devices: ContainerDevice[];
  restart: 'no' | 'unless-stopped' | 'always';
  labels: Record<string, string>;
}

export interface BuildSpec {
  context: string;
  tags: string[];
  target?: string;
  /** `--network` for RUN steps: `host` where the default bridge has no DNS (LLM_WORKBENCH_BUILD_NETWORK). */
  network?: string;
  /** Build secrets by id (file paths); mounted only while a RUN needs them, never stored. */
  secrets?: Record<string, string>;
  /** Host folders the RUN steps see (the compiler cache), where the engine can mount them; never part of the image. */
  volumes?: VolumeMount[];
  logFile: string;
}

export interface ContainerInfo {
  id: string;
  running: boolean;
  status: string;
  exitCode: number;
  image: string;
  labels: Record<string, string>;
}

export interface ContainerEngine {
  name: 'docker' | 'podman';
  binary: string;
  /** Undefined when the engine answers, else why not (daemon down, no permission...). */
  problem(): Promise<string | undefined>;
  imageExists(image: string): Promise<boolean>;
  /** The image's id (`sha256:...`), or undefined when there is no such image. */
  imageId(image: string): Promise<string | undefined>;
  /** Tries to pull; returns the engine's complaint when it cannot. */
  pull(image: string): Promise<string | undefined>;
  imageSize(image: string): Promise<number | undefined>;
  build(spec: BuildSpec): Promise<void>;
  run(spec: RunSpec, env: Record<string, string | undefined>): Promise<string>;
  /** Removes the container (running or not); false when there was none. */
  remove(name: string): Promise<boolean>;
  inspect(name: string): Promise<ContainerInfo | undefined>;
  logs(name: string, lines: number): Promise<string>;
  /** The whole log (the head holds llama.cpp's loading report) or its last `lines`. */
  log(name: string): Promise<string>;
  /**
   * How a systemd unit runs the container: in the foreground (systemd is its supervisor and
   * restarts it; `--rm`, no engine restart policy), what clears a leftover of the same name first,
   * and how the unit stops it.
   */
  unitCommands(spec: RunSpec): UnitCommands;
  /** Variables that say where the engine is and how it is set up (socket, config): a unit gets them as our shell has them. */
  connectionEnv: readonly string[];
  /** argv prefix for other subcommands (compose, kube play) of the same engine. */
  command(...args: string[]): string[];
  /** The program that runs a compose file with this engine, or a clear error naming what to install. */
  composeProgram(): Promise<string[]>;
  /** Whether it runs kube.yaml locally (`podman kube play`). */
  playsKube: boolean;
  /** What to do when it is installed but does not answer. */
  notAnsweringHint: string;
}

export interface UnitCommands {
  /** Run before the start; a failure is ignored (ExecStartPre=-): there may be nothing to clear. */
  before: string[][];
  start: string[];
  stop: string[];
}

/** How an engine gives a container a GPU: on its command line and in a compose file. */
export interface DeviceSpelling {
  runArgs(device: ContainerDevice): string[];
  /** Keys of a compose service (devices, or deploy.resources.reservations). */
  compose(device: ContainerDevice): Record<string, unknown>;
}
