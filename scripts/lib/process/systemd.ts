/**
 * systemd user units for a profile's services (`make service-install`): the same argv,
 * environment, working folder and log a service of ours runs with, under the user's systemd, so
 * the stack comes back at boot (with lingering) and after a crash (`Restart=on-failure`).
 * Ollama installs a system unit, RamaLama writes quadlets; these are user units: no root, and on
 * WSL 2 they start with the distro once systemd is on there.
 *
 * Who owns a profile's services is one file, `<state>/systemd.json`: while it is there, a start
 * of a service of ours (step 40, step 50, make server) writes its unit and has systemd (re)start
 * it; a stop (make down, a replacement) stops the unit; the service's record follows the unit's
 * main pid, so health, status and crash reports read as for a process of ours. Secrets go to a
 * 0600 EnvironmentFile beside the record, never into the unit or onto a command line.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Handlebars from 'handlebars';
import { execa } from 'execa';
import { writeFileAtomic } from '../atomic-write.ts';
import { WorkbenchError } from '../errors.ts';
import { processStartTime } from '../state/process-identity.ts';

/** What a unit runs: a service of ours as the process supervisor would start it. */
export interface UnitSpec {
  /** model-server, jupyterlab. */
  service: string;
  description: string;
  argv: readonly string[];
  /** Commands run before the start whose failure is ignored (a container engine clearing a leftover of the same name). */
  before?: readonly (readonly string[])[];
  /** How the unit stops it, where a signal to the main process is not the way (a container engine's client). */
  stop?: readonly string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  /** The unit it starts after (JupyterLab after the model server is ready). */
  after?: string;
  /** How systemd knows it is ready: an HTTP GET to host:port/path answering 200 (or anything, when no path). */
  ready?: { host: string; port: number; path?: string };
}

/** `<state>/systemd.json`: the profile's services run as these user units. */
export interface SystemdOwnership {
  profile: string;
  /** Service name -> unit name. */
  units: Record<string, string>;
  unitDir: string;
  /** Lingering was turned on by make service-install (make service-remove turns it off again). */
  lingerEnabledHere: boolean;
}

export function ownershipFile(stateDir: string): string {
  return join(stateDir, 'systemd.json');
}

export function readOwnership(stateDir: string): SystemdOwnership | undefined {
  try {
    return JSON.parse(readFileSync(ownershipFile(stateDir), 'utf8')) as SystemdOwnership;
  } catch {
    return undefined;
  }
}

export function unitName(profile: string, service: string): string {
  return `llm-workbench-${profile}-${service}.service`;
}

/** ~/.config/systemd/user (or $XDG_CONFIG_HOME/systemd/user): where a user's own units live. */
export function userUnitDir(env: Record<string, string | undefined> = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME ?? '/root', '.config'), 'systemd', 'user');
}

/** One word of ExecStart=: quoted, with systemd's own specifiers (%) and variables ($) taken literally. */
export function execWord(word: string): string {
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

/** An EnvironmentFile line: the value double-quoted, its backslashes and quotes escaped. */
export function envLine(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`${name} is not an environment variable name`);
  if (/[\n\r\0]/.test(value)) throw new Error(`${name}'s value spans lines`);
  return `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Readiness for ExecStartPost: bash's /dev/tcp asks host:port until it answers (200 on `path`),
 * at most `seconds`; no curl needed. The script is constant; host, port and path are checked first.
 */
export function readinessProbe(ready: NonNullable<UnitSpec['ready']>, seconds = 600): string {
  if (!/^[0-9A-Za-z.:-]+$/.test(ready.host) || !Number.isInteger(ready.port) || (ready.path !== undefined && !/^\/[\w/.-]*$/.test(ready.path))) {
    throw new Error(`not a probe target: ${ready.host}:${ready.port}${ready.path ?? ''}`);
  }
  const expect = ready.path ? "grep -q '^HTTP/1.[01] 200'" : "grep -q '^HTTP/'";
  // $MAINPID (systemd sets it for ExecStartPost): a service that died while starting fails the start at once.
  const script = `for i in $(seq 1 ${seconds * 2}); do kill -0 "$MAINPID" 2>/dev/null || exit 1; (exec 3<>/dev/tcp/${ready.host}/${ready.port} && printf 'GET ${ready.path ?? '/'} HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | ${expect}) 2>/dev/null && exit 0; sleep 0.5; done; exit 1`;
  return `/bin/bash -c ${execWord(script)}`;
}

/** Where a probe reaches a server bound to `host`: its loopback when it listens on every address. */
export function probeHost(host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
}

/** The unit's template (templates/, beside the other rendered files). */
const UNIT_TEMPLATE = new URL('../../../templates/systemd-user.service.hbs', import.meta.url);

export interface RenderedUnit {
  name: string;
  path: string;
  text: string;
  envFile: string;
  envText: string;
}

/** The unit file and its environment file for a service of a profile. */
export function renderUnit(profile: string, spec: UnitSpec, dirs: { unitDir: string; stateDir: string }): RenderedUnit {
  const name = unitName(profile, spec.service);
  const envFile = join(dirs.stateDir, `${spec.service}.systemd.env`);
  for (const path of [spec.cwd, spec.logFile, envFile]) {
    if (/[\n\r\0%$"\\]/.test(path) || /\s/.test(path)) throw new WorkbenchError(`${path} cannot be written into a systemd unit as it is (a space, quote, %, $ or backslash)`, 'use a state and notebook folder without them (LLM_WORKBENCH_STATE_DIR)');
  }
  const text = Handlebars.compile(readFileSync(UNIT_TEMPLATE, 'utf8'), { noEscape: true, strict: false })({
    profile,
    description: spec.description,
    after: spec.after,
    cwdWord: spec.cwd,
    envFile,
    envFileWord: envFile,
    execStart: spec.argv.map(execWord).join(' '),
    execStartPre: (spec.before ?? []).map((argv) => `-${argv.map(execWord).join(' ')}`),
    execStop: spec.stop?.map(execWord).join(' '),
    probe: spec.ready ? readinessProbe(spec.ready) : undefined,
    logFile: spec.logFile,
  });
  const envText = `${Object.entries(spec.env)
    .map(([key, value]) => envLine(key, value))
    .join('\n')}\n`;
  return { name, path: join(dirs.unitDir, name), text, envFile, envText };
}

/** The environment systemctl --user needs to find the user's manager from a shell without a session bus. */
export function userManagerEnv(env: Record<string, string | undefined> = process.env): Record<string, string | undefined> {
  const uid = process.getuid?.() ?? 0;
  const runtime = env.XDG_RUNTIME_DIR || `/run/user/${uid}`;
  return { ...env, XDG_RUNTIME_DIR: runtime, ...(env.DBUS_SESSION_BUS_ADDRESS ? {} : existsSync(join(runtime, 'bus')) ? { DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(runtime, 'bus')}` } : {}) };
}

export async function systemctlUser(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const result = await execa('systemctl', ['--user', ...args], { env: userManagerEnv(), extendEnv: false, reject: false, stdin: 'ignore' });
  return { ok: result.exitCode === 0, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

/** The unit's main pid (0 when it runs nothing), read synchronously for a record's refresh. */
export function mainPid(unit: string): number | undefined {
  try {
    const out = execFileSync('systemctl', ['--user', 'show', '--property=MainPID', '--value', unit], { env: userManagerEnv() as NodeJS.ProcessEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    const pid = Number(out.trim());
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface UnitState {
  unit: string;
  load: string;
  active: string;
  sub: string;
  enabled: string;
  mainPid: number;
  restarts: number;
}

export async function unitState(unit: string): Promise<UnitState> {
  const { stdout } = await systemctlUser(['show', '--property=LoadState,ActiveState,SubState,UnitFileState,MainPID,NRestarts', unit]);
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(stdout)?.[1] ?? '';
  return { unit, load: value('LoadState'), active: value('ActiveState'), sub: value('SubState'), enabled: value('UnitFileState'), mainPid: Number(value('MainPID')) || 0, restarts: Number(value('NRestarts')) || 0 };
}

/**
 * Writes the unit (and its 0600 environment file) when they differ, reloads systemd, and
 * (re)starts it: systemd waits for its readiness probe before `restart` returns. Returns the
 * main pid and its start time, for the service's record.
 */
export async function startUnit(unit: RenderedUnit): Promise<{ pid: number; startTime: string }> {
  mkdirSync(dirname(unit.path), { recursive: true });
  writeFileAtomic(unit.envFile, unit.envText, 0o600);
  writeFileAtomic(unit.path, unit.text, 0o644);
  await mustSystemctl(['daemon-reload'], 'reloading the units');
  await mustSystemctl(['enable', unit.name], `enabling ${unit.name}`);
  await mustSystemctl(['restart', unit.name], `starting ${unit.name}`);
  for (let i = 0; i < 50; i++) {
    const pid = mainPid(unit.name);
    const startTime = pid ? processStartTime(pid) : undefined;
    if (pid && startTime) return { pid, startTime };
    await sleep(100);
  }
  throw new WorkbenchError(`${unit.name} started but systemd names no main process for it`, `systemctl --user status ${unit.name} says why`);
}

/** Stops the unit (it stays enabled: it starts again at the next boot). True when it was running. */
export async function stopUnit(unit: string): Promise<boolean> {
  const before = await unitState(unit);
  await mustSystemctl(['stop', unit], `stopping ${unit}`);
  return before.active === 'active' || before.active === 'activating';
}

async function mustSystemctl(args: string[], doing: string): Promise<void> {
  const result = await systemctlUser(args);
  if (!result.ok) {
    const unit = args.find((a) => a.endsWith('.service'));
    throw new WorkbenchError(`systemctl --user ${args.join(' ')} failed while ${doing}: ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' ')}`, unit ? `systemctl --user status ${unit} and journalctl --user -u ${unit} say why` : 'systemctl --user status says why');
  }
}

/** Undefined when process 1 is systemd, else what it is (for one message with the fix). */
export function initProblem(): string | undefined {
  let pid1 = '';
  try {
    pid1 = readFileSync('/proc/1/comm', 'utf8').trim();
  } catch {
    // Not Linux: said below.
  }
  return pid1 === 'systemd' ? undefined : `systemd is not running here (process 1 is ${pid1 || 'unknown'})`;
}

/**
 * Whether this user's systemd manager answers, waiting up to `seconds` for it (lingering just
 * turned on starts it); undefined when it does, else what it said.
 */
export async function userManagerProblem(seconds = 0): Promise<string | undefined> {
  const init = initProblem();
  if (init) return init;
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const probe = await systemctlUser(['show-environment']);
    if (probe.ok) return undefined;
    if (Date.now() >= deadline) return `this user's systemd manager does not answer (${probe.stderr.trim().split('\n')[0]})`;
    await sleep(250);
  }
}
