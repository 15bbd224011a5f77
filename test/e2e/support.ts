/**
 * End-to-end support: a user's world in temporary folders (HOME, state, data), running our
 * Makefile targets for real. Only the download cache (compiled wheel, model) is shared between
 * tests, under .cache/e2e, so that llama.cpp is compiled once per machine and not per test.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { processStartTime } from '../../scripts/lib/state/process-identity.ts';
import { REPO_ROOT, tempDir } from '../helpers.ts';

export const SHARED_CACHE = process.env.LLM_WORKBENCH_TEST_CACHE ?? join(REPO_ROOT, '.cache', 'e2e', 'cache');
/** The venv is shared too: each test still runs the python-env step against it. */
export const SHARED_DATA = join(REPO_ROOT, '.cache', 'e2e', 'data');

export interface World {
  home: string;
  state: string;
  env: Record<string, string>;
}

export function newWorld(extra: Record<string, string> = {}): World {
  const home = tempDir('wb-home-');
  const state = join(home, 'state');
  mkdirSync(SHARED_CACHE, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    LLM_WORKBENCH_STATE_DIR: state,
    LLM_WORKBENCH_CACHE_DIR: SHARED_CACHE,
    LLM_WORKBENCH_DATA_DIR: SHARED_DATA,
    LLM_WORKBENCH_BUILD_DIR: join(home, 'build'),
    ...extra,
  };
  return { home, state, env };
}

/** A profile folder with the repo's profiles plus `files`, for tests that need other ports or faults. */
export function worldProfiles(world: World, files: Record<string, string>, repoProfiles: string[] = []): string {
  const dir = join(world.home, 'env');
  mkdirSync(dir, { recursive: true });
  for (const file of ['default.yml', 'default.lock.json', 'schema.json', ...repoProfiles.map((p) => `${p}.yml`)]) copyFileSync(join(REPO_ROOT, 'env', file), join(dir, file));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, `${name}.yml`), text);
  world.env.LLM_WORKBENCH_ENV_DIR = dir;
  return dir;
}

/** `make <target>` in the repo, as a user would type it; never throws. */
export function make(world: World, targets: string, vars: Record<string, string> = {}) {
  return execa('make', ['--no-print-directory', '-s', ...targets.split(' '), ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)], {
    cwd: REPO_ROOT,
    env: world.env,
    extendEnv: false,
    reject: false,
    all: true,
    timeout: 1_800_000,
  });
}

/** The step lines of a provision: step name -> outcome. */
export function stepOutcomes(stdout: string): Map<string, string> {
  const outcomes = new Map<string, string>();
  for (const match of stdout.matchAll(/^(\d\d-[a-z-]+)\s+(created|unchanged|replaced|removed|skipped|failed)\s+\d+\.\d+s/gm)) {
    outcomes.set(match[1] as string, match[2] as string);
  }
  return outcomes;
}

/** A process that has exited but not yet been reaped (a zombie) counts as gone. */
export function isAlive(pid: number): boolean {
  return processStartTime(pid) !== undefined;
}
