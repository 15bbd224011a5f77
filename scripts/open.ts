#!/usr/bin/env -S npx tsx
/**
 * `make open`: JupyterLab in your browser (the Windows one on WSL), or its URL where there is none;
 * `make open CHAT=1` (or a profile without JupyterLab): llama.cpp's chat page.
 */
import { execa } from 'execa';
import { thisWsl } from './lib/machine/platform.ts';
import { WorkbenchError } from './lib/errors.ts';
import { jupyterStatus, jupyterToken, readyUrl } from './lib/jupyter/jupyter.ts';
import { openerFor, redirectPage } from './lib/jupyter/open.ts';
import { tryOutput, which } from './lib/process/run.ts';
import { planFor } from './lib/profile/index.ts';
import { runtimeFor } from './lib/runtime/index.ts';
import { statePaths } from './lib/state/paths.ts';
import { runMain } from './lib/step.ts';
import type { Plan } from './lib/plan/index.ts';
import { originOf } from './lib/origin.ts';

await runMain(async () => {
  const plan = planFor();
  const chat = process.env.CHAT === '1' || (!plan.jupyter.enabled && plan.server.webUi);
  if (chat) return openChatPage(plan);
  if (!plan.jupyter.enabled) throw new WorkbenchError(`JupyterLab is off in profile "${plan.profile.name}" (jupyter.enabled: false)`, 'set jupyter.enabled: true and run make provision');
  const status = await jupyterStatus(plan);
  if (status.health === 'stopped') throw new WorkbenchError('JupyterLab is not running', status.stopped ? status.stopped.hint : 'make provision starts it');
  const url = readyUrl(plan, jupyterToken(plan));
  const page = redirectPage(statePaths(plan).jupyterRuntime);
  const opener = browserOpener();
  if (plan.server.webUi) console.log(`chat page: ${chatPageUrl(plan)} (make open CHAT=1 opens it)`);
  if (!opener || !page) {
    console.log(`no browser here${page ? '' : ' (or no redirect page from JupyterLab)'}: open this URL (it holds the token: keep it to yourself)\n  ${url}`);
    return;
  }
  const windowsPath = opener.needsWindowsPath ? await tryOutput(['wslpath', '-w', page]) : undefined;
  // The page's path on the command line, never the token: other users can read argv (ps).
  await runOpener(opener.argv(page, windowsPath), url);
  console.log(`opened JupyterLab with ${opener.name} (${plan.jupyter.url})`);
});

function chatPageUrl(plan: Plan): string {
  return `${originOf(plan.server.baseUrl)}/`;
}

function browserOpener() {
  return openerFor({ wsl: thisWsl() !== undefined, has: (program) => which(program) !== undefined, env: process.env });
}

/** The chat page holds no secret in its URL (it asks for the key itself): the opener gets the URL. */
async function openChatPage(plan: Plan): Promise<void> {
  if (!plan.server.webUi) throw new WorkbenchError(`profile "${plan.profile.name}" serves no chat page (server.web_ui is off, or ${plan.server.backend} has none)`, 'use server.backend: llama-server with server.web_ui: auto, then make provision');
  const status = await runtimeFor(plan).status(plan);
  if (status.health === 'stopped') throw new WorkbenchError('the model server is not running', status.stopped ? status.stopped.hint : 'make provision starts it');
  const url = chatPageUrl(plan);
  const opener = browserOpener();
  if (!opener) {
    console.log(`no browser here: open this URL\n  ${url}`);
    return;
  }
  await runOpener(opener.argv(url, url), url);
  console.log(`opened the chat page with ${opener.name} (${url})`);
}

async function runOpener(argv: string[], url: string): Promise<void> {
  const [command, ...args] = argv as [string, ...string[]];
  const result = await execa(command, args, { reject: false, stdin: 'ignore' });
  // explorer.exe answers 1 even when it opened the page.
  if (result.failed && command !== 'explorer.exe') {
    throw new WorkbenchError(`${command} could not open the browser (exit code ${result.exitCode})`, `open this URL yourself: ${url}`);
  }
}
