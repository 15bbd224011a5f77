/**
 * Facts about the platform the doctor and status read, gathered in one place so tests can
 * stand in for a WSL machine without one: /proc/version, the boot id, memory, the Windows
 * side's .wslconfig, wslinfo's networking mode.
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { currentBootId } from '../process/background.ts';
import { tryOutput, which } from '../process/run.ts';

export interface PlatformFacts {
  /** The text of /proc/version ("...microsoft-standard-WSL2..." on WSL 2). */
  procVersion: string;
  bootId: string | undefined;
  memTotalBytes: number;
  /** `wslinfo --networking-mode` (nat, mirrored), where WSL has it. */
  networkingMode?: string;
  /** %UserProfile%\.wslconfig as seen from the distro, when readable. */
  wslconfig?: string;
  /** `docker info` OperatingSystem ("Docker Desktop" when Docker Desktop serves this distro). */
  dockerOs?: string;
  /** Process 1's name (/proc/1/comm): systemd where systemd=true in /etc/wsl.conf, init where not. */
  init?: string;
}

export type Wsl = 'wsl1' | 'wsl2' | undefined;

export function wslVersion(procVersion: string): Wsl {
  if (!/microsoft/i.test(procVersion)) return undefined;
  return /WSL2|microsoft-standard/i.test(procVersion) ? 'wsl2' : 'wsl1';
}

/** This machine's WSL version, if it is WSL. */
export function thisWsl(): Wsl {
  return wslVersion(read('/proc/version') ?? '');
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The facts of this machine. Windows' .wslconfig is looked for under /mnt/c/Users/<user>. */
export async function platformFacts(env: NodeJS.ProcessEnv = process.env): Promise<PlatformFacts> {
  const procVersion = read('/proc/version') ?? '';
  const facts: PlatformFacts = { procVersion, bootId: currentBootId(), memTotalBytes: totalmem() };
  const init = read('/proc/1/comm')?.trim();
  if (init) facts.init = init;
  if (wslVersion(procVersion)) {
    const mode = which('wslinfo') ? await tryOutput(['wslinfo', '--networking-mode']) : undefined;
    if (mode) facts.networkingMode = mode;
    const windowsUser = which('cmd.exe') ? (await tryOutput(['cmd.exe', '/c', 'echo %USERNAME%']))?.replace(/\r/g, '') : env.USER;
    const wslconfig = windowsUser ? read(`/mnt/c/Users/${windowsUser}/.wslconfig`) : undefined;
    if (wslconfig !== undefined) facts.wslconfig = wslconfig;
    // Only on WSL: whether Docker Desktop serves this distro decides what survives idle shutdown.
    const docker = which('docker') ? await tryOutput(['docker', 'info', '--format', '{{.OperatingSystem}}']) : undefined;
    if (docker) facts.dockerOs = docker;
  }
  return facts;
}
