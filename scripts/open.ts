#!/usr/bin/env -S npx tsx
/** `make open`: JupyterLab in your browser (the Windows one on WSL), or its URL where there is none. */
import { execa } from 'execa';
import { thisWsl } from './lib/machine/platform.ts';
import { WorkbenchError } from './lib/errors.ts';
import { jupyterStatus, jupyterToken, readyUrl } from './lib/jupyter/jupyter.ts';
import { openerFor, redirectPage } from './lib/jupyter/open.ts';
import { tryOutput, which } from './lib/process/run.ts';
import { planFor } from './lib/profile/index.ts';
import { statePaths } from './lib/state/paths.ts';
import { runMain } from './lib/step.ts';

await runMain(async () => {
  const plan = planFor();
  if (!plan.jupyter.enabled) throw new WorkbenchError(`JupyterLab is off in profile "${plan.profile.name}" (jupyter.enabled: false)`, 'set jupyter.enabled: true and run make provision');
  const status = await jupyterStatus(plan);
  if (status.health === 'stopped') throw new WorkbenchError('JupyterLab is not running', status.stopped ? status.stopped.hint : 'make provision starts it');
  const url = readyUrl(plan, jupyterToken(plan));
  const page = redirectPage(statePaths(plan).jupyterRuntime);
  const opener = openerFor({ wsl: thisWsl() !== undefined, has: (program) => which(program) !== undefined, env: process.env });
  if (!opener || !page) {
    console.log(`no browser here${page ? '' : ' (or no redirect page from JupyterLab)'}: open this URL (it holds the token: keep it to yourself)\n  ${url}`);
    return;
  }
  const windowsPath = opener.needsWindowsPath ? await tryOutput(['wslpath', '-w', page]) : undefined;
  const [command, ...args] = opener.argv(page, windowsPath) as [string, ...string[]];
  // The page's path on the command line, never the token: other users can read argv (ps).
  const result = await execa(command, args, { reject: false, stdin: 'ignore' });
  // explorer.exe answers 1 even when it opened the page.
  if (result.failed && command !== 'explorer.exe') {
    throw new WorkbenchError(`${command} could not open the browser (exit code ${result.exitCode})`, `open this URL yourself: ${url}`);
  }
  console.log(`opened JupyterLab with ${opener.name} (${plan.jupyter.url})`);
});
