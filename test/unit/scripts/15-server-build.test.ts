import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { backendFor } from '../../../scripts/lib/backend/index.ts';
import { loadProfile } from '../../../scripts/lib/profile/load.ts';
import { resolvePlan } from '../../../scripts/lib/profile/plan.ts';
import type { LockFile } from '../../../scripts/lib/plan/lock.ts';
import { FIXED_ENV, REPO_ROOT } from '../../helpers.ts';

const ENV = join(REPO_ROOT, 'env');

describe('the committed lock files (step 15 writes their build)', () => {
  // A change to the build's recipe (a patch, the chat page, a flag) moves the key: a lock left
  // behind shows as a modified tracked file after a user's first make provision.
  const locked = readdirSync(ENV)
    .filter((file) => file.endsWith('.lock.json'))
    .map((file) => ({ profile: basename(file, '.lock.json'), lock: JSON.parse(readFileSync(join(ENV, file), 'utf8')) as LockFile }))
    .filter(({ profile, lock }) => lock.llamaCpp?.build && existsSync(join(ENV, `${profile}.yml`)));

  it('name at least the default profile', () => {
    assert.ok(locked.some(({ profile }) => profile === 'default'), 'env/default.lock.json names a build');
  });

  for (const { profile, lock } of locked) {
    it(`${profile}: names the build its profile makes on a CPU`, () => {
      const plan = resolvePlan(loadProfile(profile, ENV), { repoRoot: REPO_ROOT, env: FIXED_ENV, arch: 'x86_64' });
      assert.equal(lock.llamaCpp!.build!.key, basename(backendFor(plan).hostBuild.dir(plan)), `env/${profile}.lock.json is behind its build: make provision PROFILE=${profile} rewrites it`);
    });
  }
});
