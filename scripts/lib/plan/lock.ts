/**
 * `env/<profile>.lock.json`'s shapes: what a profile resolved to (state/lock-file.ts reads and
 * writes it; the resolver reads it through there).
 */

export interface PythonLock {
  /** What the requirements were resolved for: another target means another resolution. */
  for: { python: string; platform: string; packages: string[] };
  requirements: string[];
}

export interface LlamaCppLock {
  version: string;
  sdistSha256: string;
  llamaCppCommit: string;
  /** What the host compiled from it: for which accelerator, with which toolkit, under which cache key (a digest of the flags, patches and toolkit). */
  build?: { accelerator: string; toolchain?: string; key: string };
}

/** One file of a model as a source resolved it (a Hugging Face repo's file list). */
export interface LockedPart {
  /** Its path in the repo. */
  path: string;
  size: number;
  sha256: string;
}

export interface LockedModel {
  source: string;
  file?: string;
  /** The first (or only) file's sha256. */
  sha256: string;
  /** hf: the commit the source resolved to, and every file of the model (several for a split GGUF). */
  revision?: string;
  parts?: LockedPart[];
}

export interface LockFile {
  models: Record<string, LockedModel>;
  python?: PythonLock;
  llamaCpp?: LlamaCppLock;
  image?: { base: string; id: string; accelerator?: string; toolchain?: string };
}
