/**
 * What we know about llama-cpp-python versions: which ones break embeddings and which CMake
 * flags select a BLAS backend. Computed here so templates stay dumb.
 */

export type Version = readonly [number, number, number];

export function parseVersion(text: string): Version {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!match) throw new Error(`not a version: ${text}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export function compareVersions(a: string, b: string): number {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  for (let i = 0; i < 3; i++) {
    const d = (x[i] as number) - (y[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** The oldest release whose server we can drive (the guide's own pin). */
export const OLDEST_SUPPORTED = '0.2.55';

/**
 * Returns why a pinned version cannot serve the guide's endpoints, or undefined when it can.
 * 0.2.56 crashes the server on /v1/embeddings (upstream issue #1269, caused by #1263);
 * 0.2.55 is the guide's pin and 0.2.57 the upstream fix.
 */
export function checkLlamaCppVersion(version: string): string | undefined {
  if (version === '0.2.56') {
    return (
      'llama-cpp-python 0.2.56 crashes the server on /v1/embeddings (upstream issue #1269); ' +
      'pin 0.2.55 (the guide\'s fix) or 0.2.57 and later, e.g. "0.3.16"'
    );
  }
  if (compareVersions(version, OLDEST_SUPPORTED) < 0) {
    return `llama-cpp-python ${version} is older than ${OLDEST_SUPPORTED}, the oldest release llm-workbench can serve; pin "0.3.16" or later`;
  }
  return undefined;
}

/**
 * CMAKE_ARGS for a llama-cpp-python build. The multimodal library (mtmd/llava) is left out: we
 * serve text and embeddings only, and it is about half of the compile time on 2 cores.
 */
export function cmakeArgs(version: string, blas: 'none' | 'openblas'): string {
  return [blasCmakeArgs(version, blas), '-DLLAVA_BUILD=OFF'].filter(Boolean).join(' ');
}

/**
 * CMAKE_ARGS for a BLAS backend. llama.cpp renamed LLAMA_BLAS* to GGML_BLAS* (llama-cpp-python
 * 0.2.85) and silently ignores the old names since, so the wrong spelling builds without BLAS.
 */
export function blasCmakeArgs(version: string, blas: 'none' | 'openblas'): string {
  if (blas === 'none') return '';
  const prefix = compareVersions(version, '0.2.85') < 0 ? 'LLAMA' : 'GGML';
  return `-D${prefix}_BLAS=ON -D${prefix}_BLAS_VENDOR=OpenBLAS`;
}
