import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadProfile } from '../../../scripts/lib/profile/load.ts';
import { resolvePlan } from '../../../scripts/lib/profile/plan.ts';
import { lockTarget, pinLock, usableLock } from '../../../scripts/lib/python-env/lock.ts';
import { readLock } from '../../../scripts/lib/state/lock-file.ts';
import { profilesWith } from '../../helpers.ts';

const planIn = (envDir: string, name: string) => resolvePlan(loadProfile(name, envDir), { repoRoot: '/repo', env: { HOME: '/h', LLM_WORKBENCH_ENV_DIR: envDir }, arch: 'x86_64' });

describe("a profile's Python lock", () => {
  it("starts from the lock of the profile it extends when its own has none for its packages, and make plan's reading writes nothing", () => {
    const envDir = profilesWith({ mine: 'extends: default\nserver:\n  port: 18999\n' });
    const plan = planIn(envDir, 'mine');
    assert.deepEqual(plan.paths.parentLockFiles, [join(envDir, 'default.lock.json')]);
    const parent = readLock(join(envDir, 'default.lock.json')).python!;
    const locked = usableLock(plan, parent.for.python);
    assert.deepEqual(locked, parent, "default's pins, not a new resolution");
    assert.equal(existsSync(plan.paths.lockFile), false, 'reading a lock (make plan does) writes no file');
    pinLock(plan, locked!);
    assert.deepEqual(readLock(plan.paths.lockFile).python, parent, 'once installed from them, the profile keeps them in its own lock');
  });

  it('resolves anew where the parent pinned another Python, or other packages', () => {
    const envDir = profilesWith({ mine: 'extends: default\npython:\n  packages: [rich]\n' });
    const plan = planIn(envDir, 'mine');
    const parent = readLock(join(envDir, 'default.lock.json')).python!;
    assert.equal(usableLock(plan, parent.for.python), undefined, 'its packages differ: the parent pinned others');
    assert.equal(usableLock(planIn(envDir, 'default'), '3.9.1'), undefined, 'another Python');
  });

  it("prefers the profile's own lock to its parent's", () => {
    const envDir = profilesWith({ mine: 'extends: default\n' });
    const plan = planIn(envDir, 'mine');
    const parent = readLock(join(envDir, 'default.lock.json')).python!;
    const own = { for: lockTarget(plan, parent.for.python), requirements: ['openai==1.0.0 --hash=sha256:00'] };
    writeFileSync(plan.paths.lockFile, `${JSON.stringify({ models: {}, python: own })}\n`);
    assert.deepEqual(usableLock(plan, parent.for.python), own);
    assert.match(readFileSync(plan.paths.lockFile, 'utf8'), /openai==1\.0\.0/);
  });
});
