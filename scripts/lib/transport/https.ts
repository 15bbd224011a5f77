/**
 * https:// (Hugging Face and any other server): downloads to `<file>.partial`, resuming with an
 * HTTP Range request when a partial file is there, with a progress line every few seconds. The
 * caller renames the partial file only once its sha256 matches.
 */
import { createWriteStream, existsSync, statSync, truncateSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EnvHttpProxyAgent, fetch } from 'undici';
import { WorkbenchError } from '../errors.ts';
import type { ModelTransport } from './types.ts';

/**
 * Node's built-in fetch ignores HTTP(S)_PROXY; people behind a company proxy (the guide's
 * readers among them) need it honoured, with NO_PROXY, as curl and pip do.
 */
const dispatcher = new EnvHttpProxyAgent();

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export const httpsTransport: ModelTransport = {
  kind: 'https',
  async fetch({ plan, partial, log }) {
    const source = plan.model.source;
    if (source.kind !== 'https') throw new Error('https transport given another source');
    const have = existsSync(partial) ? statSync(partial).size : 0;
    const headers: Record<string, string> = { 'User-Agent': 'llm-workbench' };
    if (process.env.HF_TOKEN && new URL(source.url).hostname.endsWith('huggingface.co')) headers.Authorization = `Bearer ${process.env.HF_TOKEN}`;
    if (have > 0) headers.Range = `bytes=${have}-`;

    let response: Awaited<ReturnType<typeof fetch>>;
    try {
      response = await fetch(source.url, { headers, redirect: 'follow', dispatcher });
    } catch (error) {
      throw new WorkbenchError(`cannot reach ${source.url}: ${(error as Error).cause ?? (error as Error).message}`, 'check the URL and your network (behind a proxy, export HTTPS_PROXY=http://proxy:port); run again to resume', { cause: error });
    }
    if (response.status === 416 && have > 0) {
      // The partial file already holds every byte: let the checksum decide.
      return partial;
    }
    if (!response.ok || !response.body) {
      throw new WorkbenchError(`downloading ${source.url} failed: HTTP ${response.status} ${response.statusText}`, response.status === 401 || response.status === 403 ? 'this model needs a login: export HF_TOKEN=<your token> and run again' : 'check model.source in the profile');
    }
    const resuming = response.status === 206 && have > 0;
    if (have > 0 && !resuming) {
      log(`  the server ignored the Range request: downloading ${source.url} from the start`);
      truncateSync(partial, 0);
    }
    const start = resuming ? have : 0;
    const length = Number(response.headers.get('content-length') ?? NaN);
    const total = Number.isFinite(length) ? start + length : undefined;
    log(`  ${resuming ? `resuming at ${megabytes(start)}` : 'downloading'} ${source.url}${total ? ` (${megabytes(total)})` : ''}`);

    let received = start;
    let lastReport = Date.now();
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        log(`  ... ${megabytes(received)}${total ? ` of ${megabytes(total)} (${Math.floor((100 * received) / total)}%)` : ''}`);
      }
    });
    try {
      await pipeline(body, createWriteStream(partial, { flags: resuming ? 'a' : 'w' }));
    } catch (error) {
      throw new WorkbenchError(
        `the download of ${source.url} was cut off at ${megabytes(received)}`,
        `run again: it resumes from ${partial}`,
        { cause: error },
      );
    }
    if (total !== undefined && received < total) {
      throw new WorkbenchError(`the download of ${source.url} was cut off at ${megabytes(received)} of ${megabytes(total)}`, `run again: it resumes from ${partial}`);
    }
    return partial;
  },
};
