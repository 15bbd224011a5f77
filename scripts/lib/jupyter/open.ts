/**
 * `make open`: JupyterLab in the user's browser without the token on any command line. The
 * opener gets the redirect page JupyterLab writes for this (jpserver-<pid>-open.html, in our
 * 0700 runtime folder), whose content carries the token; argv only carries its path.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface OpenerFacts {
  wsl: boolean;
  has: (program: string) => boolean;
  env: Record<string, string | undefined>;
}

/**
 * The command that opens a local HTML file in a browser here: wslview (wslu) or explorer.exe on
 * WSL (the Windows browser), xdg-open on a Linux desktop; undefined where there is no browser.
 */
export function openerFor(facts: OpenerFacts): { name: string; argv: (file: string, windowsPath?: string) => string[]; needsWindowsPath: boolean } | undefined {
  if (facts.wsl && facts.has('wslview')) return { name: 'wslview', argv: (file) => ['wslview', file], needsWindowsPath: false };
  if (facts.wsl && facts.has('explorer.exe') && facts.has('wslpath')) {
    return { name: 'explorer.exe', argv: (_file, windowsPath) => ['explorer.exe', windowsPath ?? ''], needsWindowsPath: true };
  }
  if (facts.has('xdg-open') && (facts.env.DISPLAY || facts.env.WAYLAND_DISPLAY)) return { name: 'xdg-open', argv: (file) => ['xdg-open', file], needsWindowsPath: false };
  return undefined;
}

/** The newest redirect page JupyterLab wrote in its runtime folder. */
export function redirectPage(runtimeDir: string): string | undefined {
  let pages: string[];
  try {
    pages = readdirSync(runtimeDir).filter((f) => /^jpserver-\d+-open\.html$/.test(f));
  } catch {
    return undefined;
  }
  return pages.map((f) => join(runtimeDir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}
