/**
 * JupyterLab from the profile's env: loopback unless the profile says otherwise, a random token
 * kept in a 0600 file and passed through the environment (JUPYTER_TOKEN), never the guide's
 * fixed token on the command line (FIELD-NOTES §6).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic, type WriteOutcome } from '../state/atomic-write.ts';
import { guideNotebook, NOTEBOOK_NAME } from './notebook.ts';
import type { Plan } from '../profile/plan.ts';
import { fingerprint, secretDigest, sha256Hex } from '../fingerprint.ts';
import { readRecord, stopService } from '../process/background.ts';
import { logTail } from '../process/log-tail.ts';
import { requirePythonEnv } from '../llama-cpp/python-env.ts';
import { jupyterAnswers } from '../process/readiness.ts';
import { baseEnv, ensureBackgroundService, serviceHealth } from '../process/service.ts';
import type { ServiceStatus } from '../runtime/types.ts';
import { statePaths } from '../state/paths.ts';
import { ensureSecret, serverApiKey } from '../state/secrets.ts';
import type { StepResult } from '../step.ts';

export function jupyterToken(plan: Plan): string {
  return ensureSecret(plan.jupyter.tokenFile).value;
}

export function readyUrl(plan: Plan, token: string): string {
  return `${plan.jupyter.url}?token=${token}`;
}

/**
 * Writes the guide notebook unless the user has edited it: we replace only a file whose
 * content is what we wrote last time (its hash is kept in the state directory).
 */
export function writeGuideNotebook(plan: Plan): WriteOutcome {
  const file = join(plan.jupyter.notebookDir, NOTEBOOK_NAME);
  const marker = join(plan.paths.stateDir, 'notebook.sha256');
  const content = guideNotebook();
  mkdirSync(dirname(file), { recursive: true });
  if (existsSync(file)) {
    const current = readFileSync(file, 'utf8');
    if (current === content) return 'unchanged';
    const lastWritten = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : undefined;
    if (sha256Hex(current) !== lastWritten) return 'unchanged';
  }
  const outcome: WriteOutcome = existsSync(file) ? 'replaced' : 'created';
  writeFileAtomic(file, content);
  writeFileAtomic(marker, `${sha256Hex(content)}\n`);
  return outcome;
}

export async function startJupyter(plan: Plan): Promise<StepResult> {
  if (!plan.jupyter.enabled) return { outcome: 'skipped', detail: 'jupyter.enabled is false' };
  const paths = statePaths(plan);
  const env = requirePythonEnv(plan);
  const token = jupyterToken(plan);
  const notebook = writeGuideNotebook(plan);
  const argv = [
    env.python, '-m', 'jupyterlab', '--no-browser',
    `--ServerApp.ip=${plan.jupyter.host}`,
    `--ServerApp.port=${plan.jupyter.port}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.root_dir=${plan.jupyter.notebookDir}`,
    // JupyterLab refuses to run as root without it; the guide passes it too.
    ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
  ];
  const apiKey = serverApiKey(plan) ?? 'Dummy';
  const jupyterEnv = baseEnv({
    PATH: `${dirname(env.python)}:${process.env.PATH ?? ''}`,
    JUPYTER_TOKEN: token,
    JUPYTER_RUNTIME_DIR: paths.jupyterRuntime,
    OPENAI_BASE_URL: plan.server.baseUrl,
    OPENAI_API_KEY: apiKey,
  });
  const { JUPYTER_TOKEN: _token, OPENAI_API_KEY: _key, ...visibleEnv } = jupyterEnv;
  const print = fingerprint({ argv, env: visibleEnv, token: secretDigest(token), apiKey: secretDigest(apiKey), pythonEnv: env.fingerprint });

  const { outcome, record } = await ensureBackgroundService(plan, {
    what: `JupyterLab on ${plan.jupyter.host}:${plan.jupyter.port}`,
    service: 'jupyterlab',
    argv,
    env: jupyterEnv,
    cwd: plan.jupyter.notebookDir,
    recordFile: paths.jupyterRecord,
    logFile: paths.jupyterLog,
    fingerprint: print,
    url: plan.jupyter.url,
    port: { host: plan.jupyter.host, port: plan.jupyter.port, field: 'jupyter.port' },
    isReady: () => jupyterAnswers(plan.jupyter.url, token),
    logsHint: `make logs shows the whole log (${paths.jupyterLog})`,
  });
  // A rewritten notebook is a change even when the server itself was left alone.
  const changed = outcome === 'unchanged' && notebook !== 'unchanged' ? 'replaced' : outcome;
  return { outcome: changed, detail: `${readyUrl(plan, token)} (pid ${record.pid})` };
}

export async function stopJupyter(plan: Plan): Promise<boolean> {
  return stopService(statePaths(plan).jupyterRecord);
}

export async function jupyterStatus(plan: Plan): Promise<ServiceStatus> {
  const record = readRecord(statePaths(plan).jupyterRecord);
  const health = await serviceHealth(record, plan.jupyter.port, async () => existsSync(plan.jupyter.tokenFile) && jupyterAnswers(plan.jupyter.url, jupyterToken(plan)));
  return { service: 'jupyterlab', ...(health !== 'stopped' && record ? { pid: record.pid } : {}), url: plan.jupyter.url, health };
}

export function jupyterLogs(plan: Plan, lines: number): string {
  return logTail(statePaths(plan).jupyterLog, lines);
}
