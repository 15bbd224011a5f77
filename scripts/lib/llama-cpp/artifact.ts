/**
 * What the host compiles from llama.cpp (the llama-cpp-python wheel, llama-server, the bench
 * tools), built by one rule: in `<dir>.partial-<pid>`, renamed into place only when complete,
 * with a build-info.json of where it came from. A cache entry is whole or absent, never half:
 * Ctrl-C or a full disk mid-compile leaves a partial folder that the next build removes.
 */
import { mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { WorkbenchError } from '../errors.ts';
import { removeAbandonedPartials } from '../state/partials.ts';
import { buildPython, downloadSdist } from './sdist.ts';
import { diskFullError, isDiskFull } from '../disk-full.ts';
import type { LlamaCppLock, Plan } from '../plan/index.ts';

/** A build the host keeps in the cache, keyed by what it is made of. */
export interface BuildArtifact {
  /** For messages: "llama-cpp-python wheel", "llama-server". */
  what: string;
  /** The cache folder, named by version and a digest of flags and patches. */
  dir(plan: Plan): string;
  /** True when a complete build is in the cache. */
  cached(plan: Plan): boolean;
  /** Builds it unless cached; `built` says whether it compiled now. */
  ensure(plan: Plan): Promise<{ built: boolean }>;
  /** Where the cached build came from (its sdist and llama.cpp commit), for the lock file. */
  info(plan: Plan): LlamaCppLock | undefined;
}

const BUILD_INFO = 'build-info.json';

/**
 * What a CPU build takes on disk while it runs, measured at 0.3.36: the sdist (77 MB), its
 * unpacked source (176 MB) and llama-server's build tree (85 MB). A GPU build takes more.
 */
const BUILD_BYTES = 350 * 1024 * 1024;

export interface BuildInputs {
  /** The build venv's python (pip, CMake and Ninja go there). */
  python: string;
  sdist: string;
  info: LlamaCppLock;
  /** A scratch folder for sources and build trees, removed afterwards. */
  work: string;
  /** Where the build puts what is kept: it becomes the cache folder. */
  out: string;
}

/**
 * Builds into `dir` with `fill` unless `isComplete(dir)`: the sdist is fetched first (its sha256
 * and commit checked against the lock), and the folder appears only once `fill` succeeded.
 */
export async function buildOnce(plan: Plan, dir: string, isComplete: (dir: string) => boolean, fill: (inputs: BuildInputs) => Promise<void>, bytes = BUILD_BYTES): Promise<{ built: boolean }> {
  if (isComplete(dir)) return { built: false };
  removeAbandonedPartials(dirname(dir));
  const temp = `${dir}.partial-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  const work = join(temp, 'work');
  const out = join(temp, 'out');
  mkdirSync(work, { recursive: true });
  mkdirSync(out);
  try {
    const python = await buildPython(plan);
    const { sdist, info } = await downloadSdist(plan, python, join(work, 'sdist'));
    await fill({ python, sdist, info, work, out });
    writeFileAtomic(join(out, BUILD_INFO), `${JSON.stringify(info, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(out, dir);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    // The unpacking (a Python traceback), the compiler, a write of ours: a full disk said as one
    // (once: a build inside this one, the chat page's, has said it already).
    if (error instanceof WorkbenchError && /^the disk is full \(no space left on device\) while building /.test(error.message)) throw error;
    if (isDiskFull(error, `${(error as Error).message}\n${(error as { details?: string }).details ?? ''}`)) {
      // The stage it stopped at, as the command that failed said it (runLogged's label).
      const stage = /while (.+?) into /.exec((error as Error).message)?.[1];
      throw diskFullError(dirname(dir), `building ${basename(dir)}${stage ? ` (${stage})` : ''}`, bytes, error, `the partial build ${basename(temp)} was removed`);
    }
    throw error;
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  if (!isComplete(dir)) throw new Error(`the build of ${basename(dir)} left an incomplete folder`);
  return { built: true };
}

/** Where a cached build came from (its sdist and llama.cpp commit), for the lock file. */
export function readBuildInfo(dir: string): LlamaCppLock | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, BUILD_INFO), 'utf8')) as LlamaCppLock;
  } catch {
    return undefined;
  }
}
