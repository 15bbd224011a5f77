import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadProfile } from '../../scripts/lib/profile/load.ts';
import { resolvePlan } from '../../scripts/lib/profile/plan.ts';
import { chooseManager, condaArgv } from '../../scripts/lib/llama-cpp/python-env.ts';
import { removeAbandonedPartials } from '../../scripts/lib/state/partials.ts';
import { REPO_ROOT, tempDir } from '../helpers.ts';

const planOf = (name: string) => resolvePlan(loadProfile(name, join(REPO_ROOT, 'env')), { repoRoot: REPO_ROOT, env: { HOME: '/h' }, arch: 'x86_64' });

describe('the Python environment route', () => {
  it('creates a conda env from environment.yml, and updates it with --prune', () => {
    assert.deepEqual(condaArgv('conda', '/opt/conda/bin/conda', 'create', 'llm-3.10', '/b/environment.yml'), ['/opt/conda/bin/conda', 'env', 'create', '--yes', '--name', 'llm-3.10', '--file', '/b/environment.yml']);
    assert.deepEqual(condaArgv('mamba', 'mamba', 'update', 'llm-3.10', 'f.yml'), ['mamba', 'env', 'update', '--name', 'llm-3.10', '--file', 'f.yml', '--prune']);
    assert.deepEqual(condaArgv('micromamba', 'micromamba', 'update', 'e', 'f.yml'), ['micromamba', 'update', '--yes', '--name', 'e', '--file', 'f.yml', '--prune']);
  });

  it('takes a venv when no conda is on PATH and the profile allows it', () => {
    assert.deepEqual(chooseManager(planOf('default'), tempDir()), { kind: 'venv' });
  });

  it('refuses a profile that requires conda when none is installed, and says how to fix it', () => {
    assert.throws(() => chooseManager(planOf('elyza-7b'), tempDir()), /python\.manager is conda, but none of micromamba, mamba or conda is on PATH/);
  });

  it('removes the folder an interrupted compile left, but not one a running compile is filling', () => {
    const wheels = tempDir();
    const dead = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    mkdirSync(join(wheels, `llama-cpp-python-0.3.36-abc.partial-${dead}`));
    mkdirSync(join(wheels, `llama-cpp-python-0.3.36-abc.partial-${process.pid}`));
    mkdirSync(join(wheels, 'llama-cpp-python-0.3.36-abc'));
    assert.deepEqual(removeAbandonedPartials(wheels), [`llama-cpp-python-0.3.36-abc.partial-${dead}`]);
    assert.deepEqual(readdirSync(wheels).sort(), ['llama-cpp-python-0.3.36-abc', `llama-cpp-python-0.3.36-abc.partial-${process.pid}`]);
  });
});
