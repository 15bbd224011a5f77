/**
 * Readiness gates. llama_cpp.server has no health route (docs/decisions.md#llama_cppserver): it is ready when
 * GET /v1/models lists our alias. JupyterLab is ready when /api/status accepts our token.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkbenchError } from '../errors.ts';
import { originOf } from '../origin.ts';

/**
 * A probe's GET, on a connection of its own that closes after the answer. fetch keeps its
 * connection open in a pool, and the restart that waits for requests in flight counts open
 * connections to the server (waitUntilIdle): a probe's idle socket would count as a request.
 */
export function probeGet(url: string, headers: Record<string, string> = {}, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { ...headers, connection: 'close' }, agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

export interface WaitOptions {
  /** What we are waiting for, for messages: "model server on 127.0.0.1:8080". */
  what: string;
  timeoutMs: number;
  /** Where the log is, for messages: a file path or "podman logs <name>". */
  logName: string;
  /** The last lines of the service's log, shown when it fails to come up. */
  logTail: () => string | Promise<string>;
  /** Returns false once the process has exited: no point waiting further. */
  isAlive: () => boolean | Promise<boolean>;
  /** Where to send the user to read the whole log. */
  logsHint: string;
}

export async function waitUntil(probe: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (!(await options.isAlive())) {
      throw new WorkbenchError(`the ${options.what} exited while starting`, options.logsHint, { details: `last lines of ${options.logName}:\n${await options.logTail()}` });
    }
    if (Date.now() > deadline) {
      throw new WorkbenchError(
        `the ${options.what} did not become ready within ${Math.round(options.timeoutMs / 1000)}s`,
        options.logsHint,
        { details: `last lines of ${options.logName}:\n${await options.logTail()}` },
      );
    }
    await sleep(250);
  }
}

/** One probe of /v1/models: true when the alias is listed. */
export async function modelIsListed(baseUrl: string, alias: string, apiKey?: string): Promise<boolean> {
  return modelsAreLoaded(baseUrl, [alias], apiKey);
}

/**
 * One probe of /v1/models: true when every alias is listed and none is still loading (llama-server's
 * router lists each model with a status; a single server, or llama_cpp.server, lists none).
 */
export async function modelsAreLoaded(baseUrl: string, aliases: readonly string[], apiKey?: string): Promise<boolean> {
  try {
    const response = await probeGet(`${baseUrl}/models`, apiKey ? { Authorization: `Bearer ${apiKey}` } : {});
    if (response.status < 200 || response.status > 299) return false;
    const body = JSON.parse(response.body) as { data?: { id?: string; status?: { value?: string } }[] };
    const listed = body.data ?? [];
    return aliases.every((alias) => listed.some((model) => model.id === alias && (model.status?.value ?? 'loaded') === 'loaded'));
  } catch {
    return false;
  }
}

/** llama-server's /health (beside /v1, no key needed): 200 once the model is loaded, 503 while loading. */
export async function healthEndpointOk(baseUrl: string): Promise<boolean> {
  try {
    const { status } = await probeGet(`${originOf(baseUrl)}/health`);
    return status >= 200 && status < 300;
  } catch {
    return false;
  }
}

/** One probe of JupyterLab's /api/status with the token. */
export async function jupyterAnswers(url: string, token: string): Promise<boolean> {
  try {
    const response = await probeGet(`${url.replace(/\/lab$/, '')}/api/status`, { Authorization: `token ${token}` });
    return response.status >= 200 && response.status < 300;
  } catch {
    return false;
  }
}
