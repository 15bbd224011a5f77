import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadProfile } from '../../../scripts/lib/profile/load.ts';
import { resolvePlan } from '../../../scripts/lib/profile/plan.ts';
import { imageTags, withoutComments } from '../../../scripts/lib/runtime/image.ts';
import { FIXED_ENV, profilesWith, REPO_ROOT } from '../../helpers.ts';

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
