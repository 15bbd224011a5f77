/**
 * What WSL does to a running stack, as doctor findings, each with its fix. From Microsoft's own
 * tracker (microsoft/WSL): a distro is stopped a few seconds after its last terminal closes
 * (#9667, #10157, #8854: by design), localhost forwarding can stop after sleep until
 * `wsl --shutdown` (#4636, #5211; mirrored networking avoids it), /mnt/c goes through the 9P
 * bridge, and the VM gets only part of the PC's memory (%UserProfile%\.wslconfig sets it).
 */
import type { Finding } from '../plan/index.ts';
import { wslVersion, type PlatformFacts } from './platform.ts';

export interface WslContext {
  /** The server runs in a container (Docker Desktop keeps those running when WSL shuts down idle). */
  inContainer: boolean;
  /** What the model needs in memory, in bytes (file size and a margin). */
  modelBytes: number;
  /** Folders the stack reads and writes: the repo, the caches, the envs. */
  paths: Record<string, string>;
}

const GB = 1024 ** 3;

export function wslFindings(facts: PlatformFacts, ctx: WslContext): Finding[] {
  const version = wslVersion(facts.procVersion);
  if (!version) return [];
  const findings: Finding[] = [];
  findings.push(
    version === 'wsl2'
      ? { check: 'wsl', status: 'ok', detail: 'WSL 2' }
      : { check: 'wsl', status: 'warn', detail: 'WSL 1: no real Linux kernel, slow files, no Docker', fix: 'in PowerShell: wsl --set-version <distro> 2' },
  );

  const desktop = facts.dockerOs !== undefined && /docker desktop/i.test(facts.dockerOs);
  findings.push(
    ctx.inContainer && desktop
      ? { check: 'idle shutdown', status: 'ok', detail: 'the model server runs in Docker Desktop, which keeps it running when the distro stops' }
      : {
          check: 'idle shutdown',
          status: 'warn',
          detail: 'WSL stops this distro a few seconds after its last terminal closes, and the model server and JupyterLab with it (microsoft/WSL#9667, by design)',
          fix: `keep a WSL terminal open while you use them${desktop ? ', or use runtime: container: Docker Desktop keeps its containers running' : ''}; make status says when they are gone for this reason`,
        },
  );

  // systemd=true in /etc/wsl.conf (the default on new Ubuntu installs): user units (make service-install) then start with the distro.
  findings.push(
    facts.init === 'systemd'
      ? { check: 'wsl systemd', status: 'ok', detail: 'systemd runs this distro: make service-install makes the model server and JupyterLab start with it and come back after a crash' }
      : {
          check: 'wsl systemd',
          status: 'info',
          detail: `systemd is off in this distro (process 1 is ${facts.init ?? 'unknown'}): the stack runs only while make provision's processes do`,
          fix: 'to have it start with the distro: add "[boot]" and "systemd=true" to /etc/wsl.conf (sudo), run wsl.exe --shutdown in Windows, open the distro, then make service-install',
        },
  );

  const memoryLine = /^\s*memory\s*=\s*(\S+)/im.exec(facts.wslconfig ?? '')?.[1];
  findings.push(
    facts.memTotalBytes >= ctx.modelBytes
      ? { check: 'wsl memory', status: 'ok', detail: `the WSL VM has ${(facts.memTotalBytes / GB).toFixed(1)} GB; the model needs about ${(ctx.modelBytes / GB).toFixed(1)} GB` }
      : {
          check: 'wsl memory',
          status: 'fail',
          detail: `the WSL VM has ${(facts.memTotalBytes / GB).toFixed(1)} GB${memoryLine ? ` (.wslconfig: memory=${memoryLine})` : ' (WSL gives it part of the PC\'s memory by default)'}; the model needs about ${(ctx.modelBytes / GB).toFixed(1)} GB`,
          fix: `in %UserProfile%\\.wslconfig set [wsl2] memory=${Math.ceil((ctx.modelBytes * 1.5) / GB)}GB, then wsl --shutdown in PowerShell`,
        },
  );

  const onWindows = Object.entries(ctx.paths).filter(([, path]) => path.startsWith('/mnt/'));
  if (onWindows.length) {
    findings.push({
      check: 'wsl files',
      status: 'warn',
      detail: `${onWindows.map(([what, path]) => `${what} ${path}`).join(', ')} on the Windows drive: every read goes through the 9P bridge, slow for a model or a venv`,
      fix: 'keep the repo and the caches in the Linux file system (cd ~ and clone there; LLM_WORKBENCH_CACHE_DIR must not point under /mnt/)',
    });
  }

  findings.push(
    desktop
      ? { check: 'docker', status: 'ok', detail: 'Docker Desktop serves this distro: its containers run while Docker Desktop runs, whatever WSL does' }
      : facts.dockerOs
        ? { check: 'docker', status: 'info', detail: `a Docker engine inside the distro (${facts.dockerOs}): it stops with the distro` }
        : { check: 'docker', status: 'info', detail: 'no Docker: the native runtime needs none; with Docker Desktop (WSL integration on), runtime: container survives idle shutdown' },
  );

  const forwardingOff = /^\s*localhostForwarding\s*=\s*false/im.test(facts.wslconfig ?? '');
  const mirrored = facts.networkingMode === 'mirrored' || /^\s*networkingMode\s*=\s*mirrored/im.test(facts.wslconfig ?? '');
  findings.push(
    mirrored
      ? { check: 'wsl network', status: 'ok', detail: 'mirrored networking: Windows reaches http://localhost:<port> directly' }
      : forwardingOff
        ? { check: 'wsl network', status: 'fail', detail: '.wslconfig turns localhostForwarding off: Windows cannot reach services on 127.0.0.1', fix: 'remove localhostForwarding=false (or set networkingMode=mirrored on Windows 11), then wsl --shutdown' }
        : {
            check: 'wsl network',
            status: 'info',
            detail: 'NAT with localhost forwarding: Windows reaches http://localhost:<port>; it can stop after sleep or hibernation (microsoft/WSL#4636)',
            fix: 'if Windows stops reaching it: wsl --shutdown in PowerShell; on Windows 11, networkingMode=mirrored in .wslconfig avoids it',
          },
  );
  return findings;
}

/** The one line `make provision` ends with on WSL: what keeps the services alive. */
export function wslProvisionLine(inContainer: boolean, dockerDesktop: boolean): string {
  return inContainer && dockerDesktop
    ? '  WSL: the model server runs in Docker Desktop and survives the distro\'s idle shutdown; JupyterLab needs a WSL terminal open'
    : `  WSL: these stop a few seconds after the last WSL terminal closes: keep one open${dockerDesktop ? ' (or runtime: container, which Docker Desktop keeps running)' : ''}; make doctor explains`;
}
