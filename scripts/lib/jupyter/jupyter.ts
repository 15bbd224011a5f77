/**
 * JupyterLab from the profile's env: loopback unless the profile says otherwise, a random token
 * kept in a 0600 file and passed through the environment (JUPYTER_TOKEN), never the guide's
 * fixed token on the command line (docs/decisions.md#secrets-and-exposure).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { argvFacts, secretFact, envFacts, sha256Hex } from '../fingerprint.ts';
import { expectedPythonEnv } from '../python-env/index.ts';
import type { Preview, StepResult } from '../outcome.ts';
import { thisWsl } from '../machine/platform.ts';
import { currentBootId, readRecord, stopService } from '../process/background.ts';
import { stoppedDetails } from '../process/why-stopped.ts';
import { logTail } from '../process/log-tail.ts';
import { jupyterAnswers } from '../process/readiness.ts';
import { baseEnv, ensureBackgroundService, previewBackgroundService, serviceHealth, type BackgroundService } from '../process/service.ts';
import type { ServiceStatus } from '../runtime/types.ts';
import { writeFileAtomic, type WriteOutcome } from '../atomic-write.ts';
import { statePaths } from '../state/paths.ts';
import { ensureSecret, NEW_SECRET, peekSecret, serverApiKey } from '../state/secrets.ts';
import { guideNotebook, NOTEBOOK_NAME } from './notebook.ts';
import type { Plan } from '../plan/index.ts';
import { readPythonEnv, requirePythonEnv } from '../state/python-env.ts';

export function jupyterToken(plan: Plan): string {
  return ensureSecret(plan.jupyter.tokenFile).value;
}

export function readyUrl(plan: Plan, token: string): string {
  return `${plan.jupyter.url}?token=${token}`;
}

/**
 * What writing the guide notebook would do: we replace only a file whose content is what we
 * wrote last time (its hash is kept in the state directory), never one the user has edited.
 */
export function guideNotebookChange(plan: Plan): WriteOutcome {
  const file = join(plan.jupyter.notebookDir, NOTEBOOK_NAME);
  if (!existsSync(file)) return 'created';
  const current = readFileSync(file, 'utf8');
  if (current === guideNotebook()) return 'unchanged';
  const marker = join(plan.paths.stateDir, 'notebook.sha256');
  const lastWritten = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : undefined;
  return sha256Hex(current) === lastWritten ? 'replaced' : 'unchanged';
}

export function writeGuideNotebook(plan: Plan): WriteOutcome {
  const outcome = guideNotebookChange(plan);
  if (outcome === 'unchanged') return outcome;
  const content = guideNotebook();
  mkdirSync(plan.jupyter.notebookDir, { recursive: true });
  writeFileAtomic(join(plan.jupyter.notebookDir, NOTEBOOK_NAME), content);
  writeFileAtomic(join(plan.paths.stateDir, 'notebook.sha256'), `${sha256Hex(content)}\n`);
  return outcome;
}

/**
 * JupyterLab as a service of ours. Its facts: the argv, the environment (PATH left out, the
 * token and key by digest) and the env it runs in. `peek` reads secrets without creating them.
 */
function jupyterService(plan: Plan, python: string, pythonEnv: string, peek = false): BackgroundService {
  const paths = statePaths(plan);
  const token = peek ? peekSecret(plan.jupyter.tokenFile) ?? NEW_SECRET : jupyterToken(plan);
  const apiKey = serverApiKey(plan, process.env, peek) ?? 'Dummy';
  const argv = [
    python, '-m', 'jupyterlab', '--no-browser',
    `--ServerApp.ip=${plan.jupyter.host}`,
    `--ServerApp.port=${plan.jupyter.port}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.root_dir=${plan.jupyter.notebookDir}`,
    // JupyterLab refuses to run as root without it; the guide passes it too.
    ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
  ];
  const env = baseEnv({
    PATH: `${dirname(python)}:${process.env.PATH ?? ''}`,
    JUPYTER_TOKEN: token,
    JUPYTER_RUNTIME_DIR: paths.jupyterRuntime,
    OPENAI_BASE_URL: plan.server.baseUrl,
    OPENAI_API_KEY: apiKey,
  });
  return {
    what: `JupyterLab on ${plan.jupyter.host}:${plan.jupyter.port}`,
    service: 'jupyterlab',
    argv,
    env,
    cwd: plan.jupyter.notebookDir,
    recordFile: paths.jupyterRecord,
    logFile: paths.jupyterLog,
    facts: {
      ...argvFacts(argv, ['python']),
      // Secrets by digest; PATH left out: it differs from shell to shell without changing what runs.
      ...envFacts(env, ['JUPYTER_TOKEN', 'OPENAI_API_KEY', 'PATH']),
      token: secretFact(token),
      'api key': secretFact(apiKey),
      'python env': pythonEnv,
    },
    url: plan.jupyter.url,
    port: { host: plan.jupyter.host, port: plan.jupyter.port, field: 'jupyter.port' },
    isReady: () => jupyterAnswers(plan.jupyter.url, token),
    // Under systemd: after the model server is ready; /api answers without the token once it serves.
    after: 'model-server',
    probePath: '/api',
    logsHint: `make logs shows the whole log (${paths.jupyterLog})`,
  };
}

export async function previewJupyter(plan: Plan): Promise<Preview> {
  if (!plan.jupyter.enabled) return { action: 'skip', why: 'jupyter.enabled is false' };
  const expected = await expectedPythonEnv(plan);
  const python = readPythonEnv(plan)?.python ?? join(plan.python.venvDir, 'bin', 'python');
  const preview = await previewBackgroundService(jupyterService(plan, python, expected.fingerprint, true));
  if (preview.action === 'keep' && guideNotebookChange(plan) !== 'unchanged') return { action: 'replace', why: 'the guide notebook is rewritten' };
  return preview;
}

export async function startJupyter(plan: Plan): Promise<StepResult> {
  if (!plan.jupyter.enabled) return { outcome: 'skipped', detail: 'jupyter.enabled is false' };
  const env = requirePythonEnv(plan);
  const notebook = writeGuideNotebook(plan);
  const service = jupyterService(plan, env.python, env.fingerprint);
  const { outcome, record } = await ensureBackgroundService(plan, service);
  // A rewritten notebook is a change even when the server itself was left alone.
  const changed = outcome === 'unchanged' && notebook !== 'unchanged' ? 'replaced' : outcome;
  return { outcome: changed, detail: `${readyUrl(plan, jupyterToken(plan))} (pid ${record.pid})` };
}

export async function stopJupyter(plan: Plan): Promise<boolean> {
  return stopService(statePaths(plan).jupyterRecord);
}

export async function jupyterStatus(plan: Plan): Promise<ServiceStatus> {
  const record = readRecord(statePaths(plan).jupyterRecord);
  const health = await serviceHealth(record, plan.jupyter.port, async () => existsSync(plan.jupyter.tokenFile) && jupyterAnswers(plan.jupyter.url, jupyterToken(plan)));
  const why = stoppedDetails(record, health !== 'stopped', { bootId: currentBootId(), wsl: thisWsl() !== undefined }, (lines) => logTail(statePaths(plan).jupyterLog, lines));
  return { service: 'jupyterlab', ...(health !== 'stopped' && record ? { pid: record.pid } : {}), url: plan.jupyter.url, health, ...why };
}

export function jupyterLogs(plan: Plan, lines: number): string {
  return logTail(statePaths(plan).jupyterLog, lines);
}
