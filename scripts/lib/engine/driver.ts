/**
 * What docker and podman share: the same CLI verbs and flags. Each engine file adds only what
 * differs (how to tell the daemon is down, how to enable BuildKit, size formats).
 */
import { execa } from 'execa';
import { runLogged } from '../process/run.ts';
import type { BuildSpec, ContainerEngine, ContainerInfo, DeviceSpelling, RunSpec } from './types.ts';

/** `run` with the spec's flags: detached under the engine's restart policy, or (a unit's) in the foreground, removed when it ends. */
export function runArgv(spec: RunSpec, devices: DeviceSpelling, mode: { foreground?: { replace: boolean } } = {}): string[] {
  const argv = mode.foreground ? ['run', '--rm', ...(mode.foreground.replace ? ['--replace'] : []), '--name', spec.name] : ['run', '--detach', '--name', spec.name, '--restart', spec.restart];
  for (const p of spec.ports) argv.push('--publish', `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort}:${p.containerPort}`);
  for (const v of spec.volumes) argv.push('--volume', `${v.host}:${v.container}${v.readOnly ? ':ro' : ''}`);
  for (const [k, v] of Object.entries(spec.env)) argv.push('--env', `${k}=${v}`);
  for (const name of spec.passEnv) argv.push('--env', name);
  for (const cap of spec.capAdd) argv.push('--cap-add', cap);
  for (const device of spec.devices) argv.push(...devices.runArgs(device));
  for (const [k, v] of Object.entries(spec.labels)) argv.push('--label', `${k}=${v}`);
  argv.push(spec.image);
  return argv;
}

export function buildArgv(spec: BuildSpec, options: { volumes: boolean } = { volumes: false }): string[] {
  const argv = ['build', '--file', `${spec.context}/Dockerfile`];
  if (spec.network) argv.push('--network', spec.network);
  if (options.volumes) for (const v of spec.volumes ?? []) argv.push('--volume', `${v.host}:${v.container}${v.readOnly ? ':ro' : ''}`);
  for (const tag of spec.tags) argv.push('--tag', tag);
  if (spec.target) argv.push('--target', spec.target);
  for (const [id, src] of Object.entries(spec.secrets ?? {})) argv.push('--secret', `id=${id},src=${src}`);
  argv.push(spec.context);
  return argv;
}

export interface CliEngineOptions {
  name: ContainerEngine['name'];
  binary: string;
  /** Extra environment for builds (DOCKER_BUILDKIT=1 for RUN --mount), or a clear error when the engine cannot build our Dockerfile. */
  buildEnv: () => Promise<Record<string, string>>;
  /** The probe that fails when the daemon or service is not there. */
  probe: string[];
  devices: DeviceSpelling;
  /** Whether `build --volume` mounts a host folder into RUN steps (podman; docker's BuildKit has none). */
  buildVolumes: boolean;
  /** Whether `run --replace` removes a container of the same name first (podman); else the unit removes it before the start. */
  runReplaces: boolean;
  connectionEnv: readonly string[];
  composeProgram: ContainerEngine['composeProgram'];
  playsKube: boolean;
  notAnsweringHint: string;
}

/** The last non-empty line of a command's output: what the engine says went wrong. */
function lastLine(text: string, fallback: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines[lines.length - 1] ?? fallback;
}

/** `container inspect`'s JSON array (both engines print it without --format; podman 4.3 ignores `{{json .}}`). */
export function parseInspect(stdout: string): ContainerInfo {
  const raw = ((JSON.parse(stdout) as unknown[])[0] ?? {}) as {
    Id?: string;
    State?: { Running?: boolean; Status?: string; ExitCode?: number };
    Config?: { Labels?: Record<string, string> | null; Image?: string };
    ImageName?: string;
  };
  return {
    id: raw.Id ?? '',
    running: raw.State?.Running === true,
    status: raw.State?.Status ?? 'unknown',
    exitCode: raw.State?.ExitCode ?? 0,
    image: raw.ImageName ?? raw.Config?.Image ?? '',
    labels: raw.Config?.Labels ?? {},
  };
}

export function cliEngine(options: CliEngineOptions): ContainerEngine {
  const { binary } = options;
  const exec = (args: string[], env?: Record<string, string | undefined>) =>
    execa(binary, args, { reject: false, stdin: 'ignore', timeout: 120_000, ...(env ? { env } : {}) });

  return {
    name: options.name,
    binary,
    composeProgram: options.composeProgram,
    playsKube: options.playsKube,
    notAnsweringHint: options.notAnsweringHint,
    connectionEnv: options.connectionEnv,
    unitCommands(spec) {
      return {
        before: options.runReplaces ? [] : [[binary, 'rm', '--force', spec.name]],
        start: [binary, ...runArgv(spec, options.devices, { foreground: { replace: options.runReplaces } })],
        stop: [binary, 'stop', '--time', '20', spec.name],
      };
    },
    async problem() {
      const result = await exec(options.probe);
      return result.failed ? lastLine(`${result.stderr}\n${result.stdout}`, `${binary} ${options.probe.join(' ')} failed`) : undefined;
    },
    async imageExists(image) {
      const result = await exec(['image', 'inspect', '--format', '{{.Id}}', image]);
      return !result.failed;
    },
    async imageId(image) {
      const result = await exec(['image', 'inspect', '--format', '{{.Id}}', image]);
      return result.failed ? undefined : String(result.stdout).trim();
    },
    async pull(image) {
      const result = await exec(['pull', image]);
      return result.failed ? lastLine(String(result.stderr), 'pull failed') : undefined;
    },
    async imageSize(image) {
      const result = await exec(['image', 'inspect', '--format', '{{.Size}}', image]);
      const size = Number(String(result.stdout).trim());
      return result.failed || !Number.isFinite(size) ? undefined : size;
    },
    async build(spec) {
      await runLogged([binary, ...buildArgv(spec, { volumes: options.buildVolumes })], {
        label: `${options.name} build`,
        logFile: spec.logFile,
        env: { ...process.env, ...(await options.buildEnv()) },
        // podman prints "[1/3] STEP 6/8: RUN ...", BuildKit "#7 [base 4/6] RUN ...".
        progress: (line) => /(\[\d+\/\d+\] )?STEP \d+\/\d+|#\d+ \[[^\]]+\]/.exec(line)?.[0],
        hint: `read ${spec.logFile} for the whole build log`,
      });
    },
    async run(spec, env) {
      const result = await exec(runArgv(spec, options.devices), { ...process.env, ...env });
      if (result.failed) throw new Error(String(result.stderr).trim() || `${binary} run failed`);
      return String(result.stdout).trim();
    },
    async remove(name) {
      const result = await exec(['rm', '--force', name]);
      return !result.failed && String(result.stdout).trim() !== '';
    },
    async inspect(name) {
      const result = await exec(['container', 'inspect', name]);
      return result.failed ? undefined : parseInspect(String(result.stdout));
    },
    async logs(name, lines) {
      const result = await exec(['logs', '--tail', String(lines), name]);
      const text = `${result.stdout}${result.stderr ? `\n${result.stderr}` : ''}`.trim();
      return text.split('\n').map((line) => `  | ${line}`).join('\n');
    },
    async log(name) {
      const result = await exec(['logs', name]);
      return `${result.stdout}\n${result.stderr}`;
    },
    command(...args) {
      return [binary, ...args];
    },
  };
}
