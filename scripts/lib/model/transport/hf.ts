/**
 * hf:<owner>/<repo>[@<revision>][:<quant> | /<file.gguf>]: a model by name from Hugging Face (or
 * the mirror HF_ENDPOINT names). Two halves:
 *
 * - `resolveHfSource`, before planning: the repo's commit (`/api/models/<repo>[/revision/<rev>]`)
 *   and file list at that commit (`/api/models/<repo>/tree/<commit>`, with each LFS file's size
 *   and sha256), the GGUF of the quantization chosen (case-insensitive; a split GGUF's every
 *   part), recorded in env/<profile>.lock.json. Preflight then checks disk and memory with the
 *   real size, and the lock pins the commit and every sha256.
 * - the transport, at step 30: each file from `/<repo>/resolve/<commit>/<path>` (a redirect to a
 *   CDN on another host, which never gets the token), resumed with Range and retried like any
 *   https download, each part checked against its sha256. llama.cpp loads a split GGUF from its
 *   first part when the others lie beside it under their own names.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fetch as undiciFetch } from 'undici';
import { WorkbenchError } from '../../errors.ts';
import { sha256OfFile } from '../sha256.ts';
import { dispatcher, downloadToPartial, tokenFor } from './https.ts';
import type { ModelTransport } from './types.ts';
import type { LockedPart, ModelSource } from '../../plan/index.ts';

export const HF_DEFAULT_ENDPOINT = 'https://huggingface.co';

export function hfEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const endpoint = env.HF_ENDPOINT || HF_DEFAULT_ENDPOINT;
  try {
    const url = new URL(endpoint);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http');
    return endpoint.replace(/\/+$/, '');
  } catch {
    throw new WorkbenchError(`HF_ENDPOINT=${endpoint} is not an http(s) URL`, 'set HF_ENDPOINT to the mirror\'s address, e.g. https://hf-mirror.com, or unset it');
  }
}

/** A JSON document of the Hub's API; 401/403/404 in the words a user needs. */
async function hubJson<T>(url: string, repo: string, env: NodeJS.ProcessEnv): Promise<T> {
  const token = tokenFor(new URL(url), env);
  let response;
  try {
    response = await undiciFetch(url, { dispatcher: dispatcher(), headers: { 'user-agent': 'llm-workbench', ...(token ? { authorization: `Bearer ${token}` } : {}) }, signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    throw new WorkbenchError(`could not reach ${new URL(url).origin} for ${repo}: ${(error as Error).message}`, 'check your network (behind a proxy, export HTTPS_PROXY=http://proxy:port), or set HF_ENDPOINT to a mirror', { cause: error });
  }
  if (response.status === 401 || response.status === 403) throw gated(repo, env);
  if (response.status === 404) throw new WorkbenchError(`${repo} is not a model on ${new URL(url).origin} (HTTP 404)`, 'check the owner, the repo name and the revision in model.source (a private repo also answers 404 without HF_TOKEN)');
  if (!response.ok) throw new WorkbenchError(`${url} answered HTTP ${response.status}`, 'Hugging Face may be down: run again later, or set HF_ENDPOINT to a mirror');
  return (await response.json()) as T;
}

function gated(repo: string, env: NodeJS.ProcessEnv): WorkbenchError {
  return new WorkbenchError(
    `${repo} is gated or private: Hugging Face refused${env.HF_TOKEN ? ' the token in HF_TOKEN' : ' it without a token'}`,
    `accept the licence on the model page (${hfEndpoint(env)}/${repo}) and set HF_TOKEN to a token of that account (huggingface.co/settings/tokens)`,
  );
}

interface TreeEntry {
  type: string;
  path: string;
  size: number;
  oid?: string;
  lfs?: { oid: string; size: number };
}

export interface HfResolution {
  revision: string;
  parts: LockedPart[];
}

const SPLIT = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** The GGUF files of a repo as models: a split GGUF is one model of several parts, in order. */
export function ggufModels(entries: TreeEntry[]): { name: string; parts: TreeEntry[]; size: number }[] {
  const groups = new Map<string, TreeEntry[]>();
  for (const entry of entries) {
    if (entry.type !== 'file' || !/\.gguf$/i.test(entry.path)) continue;
    // Vision projectors and imatrix data ship beside the model as GGUF too: not a model to serve.
    if (/(^|\/)(mmproj|imatrix)[^/]*$/i.test(entry.path)) continue;
    const split = SPLIT.exec(entry.path);
    const key = split ? entry.path.slice(0, split.index) : entry.path;
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  return [...groups.entries()]
    .map(([name, parts]) => ({ name, parts: parts.sort((a, b) => a.path.localeCompare(b.path)), size: parts.reduce((sum, p) => sum + (p.lfs?.size ?? p.size), 0) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Whether a file name carries this quantization as a word of its own (Q4_K_M in "x.Q4_K_M.gguf", "x-q4_k_m-00001-of-00002.gguf"). */
export function hasQuant(name: string, quant: string): boolean {
  const base = name.split('/').pop()!.replace(SPLIT, '').replace(/\.gguf$/i, '');
  return new RegExp(`(^|[-_.])${quant.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'i').test(base) || base.toLowerCase().split(/[-.]/).includes(quant.toLowerCase());
}

function listing(models: { name: string; parts: TreeEntry[]; size: number }[]): string {
  return models.map((m) => `${m.name.split('/').pop()}${m.parts.length > 1 ? ` (${m.parts.length} parts)` : ''} ${(m.size / 1e9).toFixed(2)} GB`).join(', ');
}

/** The model of a repo's file list the source names. */
export function chooseGguf(source: Extract<ModelSource, { kind: 'hf' }>, entries: TreeEntry[], sourceText: string): TreeEntry[] {
  const models = ggufModels(entries);
  if (models.length === 0) throw new WorkbenchError(`${source.repo} has no GGUF file`, 'llama.cpp serves GGUF: choose a repo of GGUF files (their names usually end in -GGUF)');
  let chosen: typeof models;
  if (source.path) {
    chosen = models.filter((m) => m.parts.some((p) => p.path === source.path));
    if (chosen.length === 0) throw new WorkbenchError(`${source.repo} has no file ${source.path}`, `its GGUF files: ${listing(models)}`);
  } else if (source.quant) {
    chosen = models.filter((m) => hasQuant(m.name, source.quant!));
    if (chosen.length === 0) throw new WorkbenchError(`${source.repo} has no ${source.quant} GGUF`, `write one of its quantizations after the repo (${sourceText.replace(/:[^:/]*$/, '')}:<quant>): ${listing(models)}`);
  } else {
    chosen = models;
  }
  if (chosen.length > 1) {
    throw new WorkbenchError(
      `${source.repo} has several GGUF models${source.quant ? ` of ${source.quant}` : ''} and model.source does not say which`,
      `name one: ${sourceText.replace(/:[^:/]*$/, '')}:<quant> or ${sourceText.replace(/:[^:/]*$/, '')}/<file>.gguf; they are ${listing(chosen)}`,
    );
  }
  return chosen[0]!.parts;
}

/** What an hf: source is at this moment: the commit, and the file(s) of the model with sizes and sha256. */
export async function resolveHfSource(source: Extract<ModelSource, { kind: 'hf' }>, sourceText: string, env: NodeJS.ProcessEnv = process.env): Promise<HfResolution> {
  const endpoint = hfEndpoint(env);
  const api = `${endpoint}/api/models/${source.repo}`;
  const info = await hubJson<{ sha?: string }>(source.revision ? `${api}/revision/${encodeURIComponent(source.revision)}` : api, source.repo, env);
  if (!info.sha || !/^[0-9a-f]{40}$/.test(info.sha)) throw new WorkbenchError(`${api} gave no commit for ${source.repo}`, 'HF_ENDPOINT must be a Hugging Face Hub (or a mirror of its API)');
  const entries = await hubJson<unknown>(`${api}/tree/${info.sha}?recursive=true`, source.repo, env);
  // A mirror that answers something else than the Hub's file list gets a message, not a TypeError.
  if (!Array.isArray(entries)) throw new WorkbenchError(`${api}/tree/${info.sha} gave no file list for ${source.repo}`, 'HF_ENDPOINT must be a Hugging Face Hub (or a mirror of its API)');
  const parts = chooseGguf(source, entries as TreeEntry[], sourceText).map((entry) => {
    if (!entry.lfs?.oid) throw new WorkbenchError(`${source.repo}/${entry.path} has no sha256 in the file list (not stored with LFS)`, 'pin model.sha256 in the profile, or use its https:// resolve URL as model.source');
    return { path: entry.path, size: entry.lfs.size, sha256: entry.lfs.oid };
  });
  return { revision: info.sha, parts };
}

export function resolveUrl(endpoint: string, repo: string, revision: string, path: string): string {
  return `${endpoint}/${repo}/resolve/${revision}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

export const hfTransport: ModelTransport = {
  kind: 'hf',
  // Until the repo's file list is read (and locked): a name from the repo and quantization.
  fileName: (source) => (source.kind !== 'hf' ? 'model.gguf' : source.path ? basename(source.path) : `${source.repo.split('/')[1]}-${source.quant ?? 'gguf'}.gguf`),
  clusterFetch(model) {
    const source = model.source;
    if (source.kind !== 'hf') throw new Error('hf transport given another source');
    if (!model.resolved) return { unavailable: `${model.sourceText} is not pinned yet: make model (or make provision) looks it up and locks its files, then make render` };
    // Hugging Face itself: the cluster's network, not this machine's mirror (HF_ENDPOINT).
    const { revision, parts } = model.resolved;
    return { files: parts.map((part) => ({ name: part.fileName, sha256: part.sha256, url: resolveUrl(HF_DEFAULT_ENDPOINT, source.repo, revision, part.path), hf: true as const })) };
  },
  lookUp(source, sourceText, env) {
    if (source.kind !== 'hf') throw new Error('hf transport given another source');
    return resolveHfSource(source, sourceText, env);
  },
  async fetch({ model, partial, log }) {
    const source = model.source;
    if (source.kind !== 'hf') throw new Error('hf transport given another source');
    if (!model.resolved) throw new Error(`${model.sourceText} was not resolved before planning`);
    const endpoint = hfEndpoint();
    const { revision, parts } = model.resolved;
    const refused = (status: number) => (status === 401 || status === 403 ? gated(source.repo, process.env).hint : 'check model.source in the profile');
    // The other parts of a split GGUF first, each checked, beside where the first will be.
    for (const part of parts.slice(1)) {
      const target = join(dirname(partial), part.fileName);
      if (existsSync(target) && (await sha256OfFile(target)) === part.sha256) continue;
      const fetched = await downloadToPartial(resolveUrl(endpoint, source.repo, revision, part.path), `${target}.partial`, log, refused);
      const sha256 = await sha256OfFile(fetched);
      if (sha256 !== part.sha256) {
        rmSync(fetched, { force: true });
        throw new WorkbenchError(`the sha256 of ${part.path} from ${source.repo} is ${sha256}, the repo says ${part.sha256}`, 'the download was corrupted on the way: run again (it starts that part over)');
      }
      renameSync(fetched, target);
    }
    return downloadToPartial(resolveUrl(endpoint, source.repo, revision, parts[0]!.path), partial, log, refused);
  },
};
