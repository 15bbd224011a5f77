/**
 * A local stand-in for Hugging Face that speaks the parts of its API llm-workbench uses, over
 * real HTTP with real files: the Hub (`/api/models/<repo>`, `/revision/<rev>`,
 * `/tree/<commit>` with each LFS file's size and sha256, `/<repo>/resolve/<rev>/<path>` answering
 * 302 with X-Repo-Commit, X-Linked-Etag and X-Linked-Size) and, on another port, the CDN the
 * resolve URL redirects to (Range requests, 206). A gated repo answers 401 without the token.
 * It records what each host received (the token's travel is what the tests read), can cut a
 * download in the middle, and can serve a file whose bytes do not match its sha256.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInFile {
  bytes: Buffer;
  /** Served with one byte flipped: the sha256 in the file list no longer matches. */
  corrupt?: boolean;
}

export interface StandInRepo {
  files: Record<string, StandInFile>;
  gated?: boolean;
}

export interface Received {
  host: 'hub' | 'cdn';
  path: string;
  authorization?: string;
  range?: string;
}

export interface HfStandIn {
  /** HF_ENDPOINT for the clients. */
  endpoint: string;
  cdn: string;
  received: Received[];
  /** The next CDN download of this repo file sends half its bytes, then drops the connection. */
  cutNext(repo: string, path: string): void;
  commitOf(repo: string): string;
  close(): Promise<void>;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startHfStandIn(repos: Record<string, StandInRepo>, token: string): Promise<HfStandIn> {
  const received: Received[] = [];
  const cuts = new Set<string>();
  const commits = Object.fromEntries(Object.keys(repos).map((repo) => [repo, sha256(Buffer.from(`commit of ${repo}`)).slice(0, 40)]));
  const blobs = new Map<string, { repo: string; path: string; file: StandInFile }>();
  for (const [repo, { files }] of Object.entries(repos)) for (const [path, file] of Object.entries(files)) blobs.set(`${sha256(file.bytes)}/${repo}/${path}`, { repo, path, file });
  const record = (host: Received['host'], req: IncomingMessage) =>
    received.push({ host, path: req.url ?? '', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), ...(req.headers.range ? { range: req.headers.range } : {}) });

  const cdnServer = createServer((req, res) => {
    record('cdn', req);
    const blob = blobs.get(decodeURIComponent((req.url ?? '').replace(/^\/blobs\//, '').split('?')[0]!));
    if (!blob) return json(res, 404, { error: 'no such blob' });
    let bytes = blob.file.bytes;
    if (blob.file.corrupt) {
      bytes = Buffer.from(bytes);
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    if (start >= bytes.length) {
      res.writeHead(416, { 'content-range': `bytes */${bytes.length}` });
      return res.end();
    }
    const body = bytes.subarray(start);
    res.writeHead(range ? 206 : 200, { 'content-length': body.length, 'accept-ranges': 'bytes', ...(range ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}) });
    const key = `${blob.repo}/${blob.path}`;
    if (cuts.delete(key)) {
      // Half the body, then the connection drops: what a flaky network does to a 4 GB download.
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    res.end(body);
  });
  const cdn = await listen(cdnServer);

  const hubServer = createServer((req, res) => {
    record('hub', req);
    const url = new URL(req.url ?? '/', 'http://hub');
    const api = /^\/api\/models\/([^/]+\/[^/]+)(?:\/(revision|tree)\/([^/]+))?$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repoName = api?.[1] ?? resolve?.[1];
    const repo = repoName ? repos[repoName] : undefined;
    if (!repoName || !repo) return json(res, 404, { error: 'Repository not found' });
    if (repo.gated && req.headers.authorization !== `Bearer ${token}`) {
      return json(res, req.headers.authorization ? 403 : 401, { error: `Access to model ${repoName} is restricted. You must have access to it and be authenticated to access it. Please log in.` });
    }
    const commit = commits[repoName]!;
    if (api) {
      const [, , kind, rev] = api;
      if (kind === 'revision' && rev !== 'main' && rev !== commit) return json(res, 404, { error: 'Revision not found' });
      if (kind !== 'tree') return json(res, 200, { id: repoName, sha: commit });
      if (rev !== commit) return json(res, 404, { error: 'Revision not found' });
      return json(res, 200, [
        { type: 'file', oid: sha256(Buffer.from('readme')).slice(0, 40), size: 6, path: 'README.md' },
        ...Object.entries(repo.files).map(([path, file]) => ({
          type: 'file',
          oid: sha256(Buffer.from(path)).slice(0, 40),
          size: file.bytes.length,
          path,
          lfs: { oid: sha256(file.bytes), size: file.bytes.length, pointerSize: 134 },
        })),
      ]);
    }
    const [, , rev, path] = resolve!;
    const file = repo.files[decodeURIComponent(path!)];
    if (!file || (rev !== 'main' && rev !== commit)) return json(res, 404, { error: 'Entry not found' });
    const oid = sha256(file.bytes);
    res.writeHead(302, { location: `${cdn}/blobs/${oid}/${repoName}/${encodeURIComponent(decodeURIComponent(path!))}`, 'x-repo-commit': commit, 'x-linked-etag': `"${oid}"`, 'x-linked-size': String(file.bytes.length), 'content-length': 0 });
    res.end();
  });
  const endpoint = await listen(hubServer);

  return {
    endpoint,
    cdn,
    received,
    cutNext: (repo, path) => void cuts.add(`${repo}/${path}`),
    commitOf: (repo) => commits[repo]!,
    close: async () => {
      for (const server of [hubServer, cdnServer]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}
