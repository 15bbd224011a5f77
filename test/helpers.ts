/** Shared test helpers: temporary profile folders and running our scripts as a user would. */
import { mkdtempSync, mkdirSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { bundle } from '../scripts/bundle.ts';
import { REPO_ROOT } from '../scripts/lib/profile/index.ts';
import { loadProfile } from '../scripts/lib/profile/load.ts';
import { resolvePlan } from '../scripts/lib/profile/plan.ts';
import type { Plan } from '../scripts/lib/plan/index.ts';

export { REPO_ROOT };

/**
 * A temporary folder, removed when the test process exits: every file and every e2e world made
 * its own, and a run of the whole suite left about 40 GB in /tmp before they were (envs, venvs,
 * builds). KEEP_TEST_DIRS=1 keeps them to look at a failure.
 */
export function tempDir(prefix = 'wb-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}
const madeDirs: string[] = [];
process.on('exit', () => {
  if (process.env.KEEP_TEST_DIRS === '1') return;
  for (const dir of madeDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A file another user's container wrote (a subuid) or a mount still in use: left behind, never fatal.
    }
  }
});

/** A folder of profiles: the repo's own, plus the given files (name -> YAML text). */
export function profilesWith(files: Record<string, string>, options: { withRepoProfiles?: boolean } = {}): string {
  const dir = tempDir('wb-env-');
  if (options.withRepoProfiles !== false) cpSync(join(REPO_ROOT, 'env'), dir, { recursive: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, `${name}.yml`), text);
  return dir;
}

/**
 * Outside the clone on purpose: CI starts from a clean clone, and a cache inside it would make
 * every run compile llama.cpp again. What is kept here is keyed by its inputs (version, flags,
 * patch; a model by its source), so a stale entry is never taken for a current one.
 */
export const TEST_CACHE_ROOT =
  process.env.LLM_WORKBENCH_TEST_CACHE ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'llm-workbench-test');
export const SHARED_CACHE = join(TEST_CACHE_ROOT, 'cache');
/** A fixed environment so rendered paths do not depend on who runs the tests. */
export const FIXED_ENV = { HOME: '/home/user' } as const;

/** One bundle of the sources per test process, as make builds it (scripts/bundle.ts). */
let bundled: Promise<string> | undefined;
function testBundle(): Promise<string> {
  bundled ??= (async () => {
    const out = join(tempDir('wb-cli-'), 'cli.mjs');
    await bundle(REPO_ROOT, out);
    return out;
  })();
  return bundled;
}

/**
 * Runs a script as `make` does, from the bundle of the current sources (DEBUG=1 maps a stack back
 * to them), never throwing: the result is the value.
 */
export async function runScript(script: string, env: Record<string, string>, args: string[] = []) {
  return execa('node', [...(env.DEBUG === '1' ? ['--enable-source-maps'] : []), await testBundle(), script, ...args], {
    cwd: REPO_ROOT,
    env,
    reject: false,
    all: true,
    timeout: 600_000,
  });
}

/** A profile of env/ (or one of `files`, which may extend env/'s) resolved with fixed machine facts and /repo as the repository. */
export function planOf(name: string, env: Record<string, string | undefined> = { HOME: '/home/u' }, files: Record<string, string> = {}): Plan {
  const dir = Object.keys(files).length ? profilesWith(files) : join(REPO_ROOT, 'env');
  return resolvePlan(loadProfile(name, dir), { repoRoot: '/repo', env, arch: 'x86_64' });
}
