/** The one place a model source's kind picks its transport. */
import { basename } from 'node:path';
import { fileTransport } from './file.ts';
import { hfTransport } from './hf.ts';
import { httpsTransport } from './https.ts';
import { pypiTransport } from './pypi.ts';
import type { ModelTransport } from './types.ts';
import type { ModelSource } from '../../plan/index.ts';

export { modelId, parseModelSource } from './source.ts';

const TRANSPORTS: Record<ModelTransport['kind'], ModelTransport> = {
  pypi: pypiTransport,
  https: httpsTransport,
  file: fileTransport,
  hf: hfTransport,
};

export function transportFor(source: ModelSource): ModelTransport {
  return TRANSPORTS[source.kind];
}

/** The model's file name in the cache: model.file's, else what its transport names it. */
export function modelFileName(source: ModelSource, file: string | undefined): string {
  return file ? basename(file) : transportFor(source).fileName(source);
}

/** The folders the transports keep downloads in beside the model cache. */
export function transportDownloadDirs(cacheDir: string): string[] {
  return Object.values(TRANSPORTS).flatMap((transport) => (transport.downloadsDir ? [transport.downloadsDir(cacheDir)] : []));
}

/** The user's own file, used where it is (file:), or undefined for a source fetched into the cache. */
export function localPathOf(source: ModelSource): string | undefined {
  return transportFor(source).localPath?.(source);
}
