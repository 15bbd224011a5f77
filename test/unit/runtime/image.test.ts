import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadProfile } from '../../../scripts/lib/profile/load.ts';
import { resolvePlan } from '../../../scripts/lib/profile/plan.ts';
import type { ContainerEngine } from '../../../scripts/lib/engine/types.ts';
import { ensureImage, imageTags, withoutComments } from '../../../scripts/lib/runtime/image.ts';
import { readLock } from '../../../scripts/lib/state/lock-file.ts';
import { FIXED_ENV, profilesWith, REPO_ROOT, tempDir } from '../../helpers.ts';

const container = 'extends: default\nruntime: container\n';
const planIn = (dir: string, name: string, env: Record<string, string> = FIXED_ENV) => resolvePlan(loadProfile(name, dir), { repoRoot: REPO_ROOT, env, arch: 'x86_64' });

describe('the image tag', () => {
  it('is the same for two profiles that build the same image, whatever paths their comments name, and for either engine', () => {
    const one = planIn(profilesWith({ a: `${container}container:\n  engine: podman\n` }), 'a');
    const two = planIn(profilesWith({ a: `${container}container:\n  engine: docker\n` }), 'a', { HOME: '/home/other' });
    assert.notEqual(one.profile.files.join(), two.profile.files.join(), 'the rendered comments name other files');
    assert.equal(imageTags(one).byHash, imageTags(two).byHash);
  });

  it('changes when what is built changes: the server command, the BLAS flags', () => {
    const dir = profilesWith({ a: container, b: `${container}model:\n  n_ctx: 1024\n`, c: `${container}llama_cpp:\n  blas: openblas\n` });
    const tags = ['a', 'b', 'c'].map((name) => imageTags(planIn(dir, name)).byHash);
    assert.equal(new Set(tags).size, 3, tags.join(' '));
  });

  it('leaves out comment lines only, not instructions that contain a #', () => {
    assert.equal(withoutComments('# rendered from /tmp/x\nFROM base\n  # indented comment\nRUN echo "a # b"\n'), 'FROM base\nRUN echo "a # b"\n');
  });
});

describe('ensureImage and the lock', () => {
  /** An engine that has every image already, with the base's id as given. */
  const engineWith = (baseId: { id: string }): ContainerEngine =>
    ({
      name: 'podman',
      binary: 'true',
      imageExists: async () => true,
      imageId: async () => baseId.id,
      imageSize: async () => 1e6,
      command: (...args: string[]) => ['true', ...args],
    }) as unknown as ContainerEngine;

  it('records the base image of an image another checkout built, and keeps the first id when the base moves', async () => {
    const envDir = profilesWith({ a: container });
    const plan = planIn(envDir, 'a', { HOME: tempDir('wb-home-'), LLM_WORKBENCH_ENV_DIR: envDir });
    assert.equal(plan.paths.lockFile, `${envDir}/a.lock.json`);
    const base = { id: 'sha256:aaaa' };
    const first = await ensureImage(plan, engineWith(base));
    assert.equal(first.outcome, 'unchanged');
    assert.deepEqual(readLock(plan.paths.lockFile).image, { base: plan.container.base, id: 'sha256:aaaa' });
    base.id = 'sha256:bbbb';
    await ensureImage(plan, engineWith(base));
    assert.equal(readLock(plan.paths.lockFile).image?.id, 'sha256:aaaa', 'the lock keeps what it recorded, so make plan can name the drift');
  });
});
