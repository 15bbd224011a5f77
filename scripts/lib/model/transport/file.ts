/** file:/path: the model is already on disk; it is used in place, never copied. */
import { basename } from 'node:path';
import { existsSync } from 'node:fs';
import { WorkbenchError } from '../../errors.ts';
import type { ModelTransport } from './types.ts';

export const fileTransport: ModelTransport = {
  kind: 'file',
  fileName: (source) => (source.kind === 'file' ? basename(source.path) : 'model.gguf'),
  clusterFetch: (model) => ({ unavailable: `${model.sourceText} is a file on this machine, which a cluster cannot fetch: copy it into the claim (kubectl cp) or serve it by https: and make render again` }),
  localPath(source) {
    if (source.kind !== 'file') throw new Error('file transport given another source');
    return source.path;
  },
  async fetch({ model }) {
    if (model.source.kind !== 'file') throw new Error('file transport given another source');
    const path = model.source.path;
    if (!existsSync(path)) {
      throw new WorkbenchError(`model.source file ${path} does not exist`, 'fix model.source in the profile, or put the GGUF file there');
    }
    return path;
  },
};
