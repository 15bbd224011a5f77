/**
 * https:// (Hugging Face and any other server): downloads to `<file>.partial`, resuming with an
 * HTTP Range request when a partial file is there, retrying transient failures (a reset
 * connection, a 5xx, a body cut short) a bounded number of times, each retry resuming where the
 * last one stopped. The caller renames the partial file only once its sha256 matches.
 *
 * Why undici's dispatcher and not fetch: undici 6 (and 7) crash the whole process with an
 * uncatchable `assert(!this.paused)` when a response body is paused under backpressure and the
 * server then closes the socket (nodejs/undici#5360, fixed only in undici 8, which needs Node 22).
 * Plain HTTP/1.0 servers such as `python3 -m http.server` do exactly that. Our handler writes
 * each chunk synchronously and never asks the parser to pause, so that state cannot arise.
 */
import { basename } from 'node:path';
import { closeSync, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { WorkbenchError } from '../../errors.ts';
import type { ModelTransport } from './types.ts';

/**
 * Node's built-in fetch ignores HTTP(S)_PROXY; people behind a company proxy (the guide's
 * readers among them) need it honoured, with NO_PROXY, as curl and pip do. Made on the first
 * download only: undici warns that the agent is experimental when it is constructed.
 */
let agent: Dispatcher | undefined;
export function dispatcher(): Dispatcher {
  agent ??= new EnvHttpProxyAgent();
  return agent;
}

/** Hosts a Hugging Face token belongs to; it is sent to nothing else, and only over https. */
const HF_TOKEN_HOSTS = new Set(['huggingface.co', 'hf.co']);

/**
 * HF_TOKEN for a request to this URL, or nothing: Hugging Face's own hosts over https, or the
 * mirror the user named in HF_ENDPOINT (its exact origin). Never the CDN a download redirects to.
 */
export function tokenFor(url: URL, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!env.HF_TOKEN) return undefined;
  if (url.protocol === 'https:' && HF_TOKEN_HOSTS.has(url.hostname.toLowerCase())) return env.HF_TOKEN;
  const endpoint = hfEndpointOrigin(env);
  return endpoint !== undefined && url.origin === endpoint ? env.HF_TOKEN : undefined;
}

function hfEndpointOrigin(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return env.HF_ENDPOINT ? new URL(env.HF_ENDPOINT).origin : undefined;
  } catch {
    return undefined;
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A failure worth another attempt (the network or the server, not the request). */
class TransientError extends Error {}

interface Attempt {
  status: number;
  location?: string;
  /** Bytes in the partial file after this attempt. */
  size: number;
  /** The full length the server announced, when it did. */
  total?: number;
  resumed: boolean;
}

function header(raw: Buffer[] | string[] | null, name: string): string | undefined {
  if (!raw) return undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (String(raw[i]).toLowerCase() === name) return String(raw[i + 1]);
  }
  return undefined;
}

/** One GET, its body appended to `partial` from byte `have` on. */
function getOnce(url: URL, partial: string, have: number, onBytes: (size: number, total: number | undefined) => void): Promise<Attempt> {
  const headers: Record<string, string> = { 'user-agent': 'llm-workbench', 'accept-encoding': 'identity' };
  const token = tokenFor(url);
  if (token) headers.authorization = `Bearer ${token}`;
  if (have > 0) headers.range = `bytes=${have}-`;
  return new Promise<Attempt>((resolve, reject) => {
    let fd: number | undefined;
    let attempt: Attempt = { status: 0, size: have, resumed: false };
    let expected: number | undefined;
    const finish = (error?: Error) => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      if (error) reject(error);
      else resolve(attempt);
    };
    let abort: ((reason?: Error) => void) | undefined;
    const handler: Dispatcher.DispatchHandlers = {
      onConnect(abortRequest) {
        abort = abortRequest;
      },
      onHeaders(status, rawHeaders) {
        const raw = rawHeaders as unknown as Buffer[];
        attempt = { ...attempt, status };
        if (status >= 300 && status < 400) {
          attempt.location = header(raw, 'location');
          return true;
        }
        if (status !== 200 && status !== 206) return true;
        const length = Number(header(raw, 'content-length') ?? NaN);
        const resumed = status === 206 && have > 0 && new RegExp(`^bytes ${have}-`).test(header(raw, 'content-range') ?? '');
        const start = resumed ? have : 0;
        expected = Number.isFinite(length) ? start + length : undefined;
        attempt = { ...attempt, size: start, resumed, ...(expected !== undefined ? { total: expected } : {}) };
        fd = openSync(partial, resumed ? 'a' : 'w');
        return true;
      },
      onData(chunk) {
        if (fd === undefined) return true; // An error or redirect body: not ours to keep.
        // Synchronous on purpose: the parser is never asked to pause (see the file comment).
        try {
          writeSync(fd, chunk);
        } catch (error) {
          // A full disk (ENOSPC) is not a network fault to retry: stop the transfer and say so.
          finish(error as Error);
          abort?.(error as Error);
          return true;
        }
        attempt.size += chunk.length;
        onBytes(attempt.size, expected);
        return true;
      },
      onComplete() {
        if (fd !== undefined && expected !== undefined && attempt.size < expected) {
          finish(new TransientError(`the connection ended at ${megabytes(attempt.size)} of ${megabytes(expected)}`));
          return;
        }
        finish();
      },
      onError(error) {
        finish(new TransientError(describeNetworkError(error)));
      },
    };
    try {
      dispatcher().dispatch({ origin: url.origin, path: `${url.pathname}${url.search}`, method: 'GET', headers }, handler);
    } catch (error) {
      finish(new TransientError(describeNetworkError(error as Error)));
    }
  });
}

function describeNetworkError(error: Error): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = (error as { code?: string }).code ?? cause?.code;
  return `${error.message}${code && !error.message.includes(code) ? ` (${code})` : ''}`;
}

const MAX_REDIRECTS = 10;

export function downloadRetries(env: NodeJS.ProcessEnv = process.env): { attempts: number; backoffMs: number } {
  const attempts = Number(env.LLM_WORKBENCH_DOWNLOAD_ATTEMPTS ?? 5);
  const backoffMs = Number(env.LLM_WORKBENCH_DOWNLOAD_BACKOFF_MS ?? 2000);
  if (!Number.isInteger(attempts) || attempts < 1 || !Number.isFinite(backoffMs) || backoffMs < 0) {
    throw new WorkbenchError(
      'LLM_WORKBENCH_DOWNLOAD_ATTEMPTS must be a whole number of at least 1 and LLM_WORKBENCH_DOWNLOAD_BACKOFF_MS a number of milliseconds',
      'e.g. LLM_WORKBENCH_DOWNLOAD_ATTEMPTS=8 LLM_WORKBENCH_DOWNLOAD_BACKOFF_MS=5000 on a flaky network',
    );
  }
  return { attempts, backoffMs };
}

/**
 * Downloads a URL to `partial`, resuming a partial file with Range, following redirects (the token
 * per URL: tokenFor), retrying transient failures. `refused(status)` words the hint of a 4xx.
 */
export async function downloadToPartial(
  address: string,
  partial: string,
  log: (line: string) => void,
  refused: (status: number, url: URL) => string = (status, url) =>
    status === 401 || status === 403
      ? `this model needs a login: export HF_TOKEN=<your token> and run again${url.protocol !== 'https:' ? ' (tokens are only sent over https)' : ''}`
      : 'check model.source in the profile',
): Promise<string> {
  const { attempts, backoffMs } = downloadRetries();
  let lastReport = Date.now();
  const progress = (size: number, total: number | undefined) => {
    if (Date.now() - lastReport < 5000) return;
    lastReport = Date.now();
    log(`  ... ${megabytes(size)}${total ? ` of ${megabytes(total)} (${Math.floor((100 * size) / total)}%)` : ''}`);
  };

  for (let attempt = 1; ; attempt++) {
    const have = existsSync(partial) ? statSync(partial).size : 0;
    let url = new URL(address);
    if (attempt === 1) log(`  downloading ${address}${have ? ` (resuming from ${megabytes(have)})` : ''}`);
    try {
      let result: Attempt | undefined;
      for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
        result = await getOnce(url, partial, have, progress);
        if (!result.location) break;
        // A redirect to another host (Hugging Face's CDN) gets no token: tokenFor decides per URL.
        url = new URL(result.location, url);
      }
      const done = result as Attempt;
      if (done.location) throw new WorkbenchError(`${address} redirects more than ${MAX_REDIRECTS} times`, 'check model.source in the profile');
      if (done.status === 416 && have > 0) return partial; // Every byte is here: the checksum decides.
      if (done.status === 429 || done.status >= 500) throw new TransientError(`HTTP ${done.status}`);
      if (done.status !== 200 && done.status !== 206) throw new WorkbenchError(`downloading ${address} failed: HTTP ${done.status}`, refused(done.status, url));
      if (have > 0 && !done.resumed) log(`  the server ignored the Range request: downloaded ${address} from the start`);
      else if (done.resumed) log(`  resumed at ${megabytes(have)}`);
      log(`  downloaded ${megabytes(done.size)} from ${url.host}`);
      return partial;
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      const size = existsSync(partial) ? statSync(partial).size : 0;
      if (attempt >= attempts) {
        throw new WorkbenchError(
          `the download of ${address} failed ${attempts} times, last: ${error.message}`,
          `check your network (behind a proxy, export HTTPS_PROXY=http://proxy:port) and run again: it resumes from ${megabytes(size)} in ${partial}`,
          { cause: error },
        );
      }
      const wait = backoffMs * 2 ** (attempt - 1);
      log(`  ${error.message}: retrying in ${(wait / 1000).toFixed(1)}s from ${megabytes(size)} (attempt ${attempt + 1} of ${attempts})`);
      await sleep(wait);
    }
  }
}

export const httpsTransport: ModelTransport = {
  kind: 'https',
  clusterFetch(model) {
    const source = model.source;
    if (source.kind !== 'https') throw new Error('https transport given another source');
    return { files: [{ name: model.fileName, ...(model.sha256 ? { sha256: model.sha256 } : {}), url: source.url }] };
  },
  fileName: (source) => (source.kind === 'https' ? basename(new URL(source.url).pathname) || 'model.gguf' : 'model.gguf'),
  async fetch({ model, partial, log }) {
    const source = model.source;
    if (source.kind !== 'https') throw new Error('https transport given another source');
    return downloadToPartial(source.url, partial, log);
  },
};
