import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadProfile } from '../../../scripts/lib/profile/load.ts';
import { resolvePlan, sharedEnvName } from '../../../scripts/lib/profile/plan.ts';
import { chooseManager, condaArgv } from '../../../scripts/lib/python-env/index.ts';
import { removeAbandonedPartials } from '../../../scripts/lib/state/partials.ts';
import { REPO_ROOT, tempDir } from '../../helpers.ts';
import { readPythonEnv } from '../../../scripts/lib/state/python-env.ts';

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

describe('which env a profile uses', () => {
  const record = (prefix: string, manager = 'venv') => `${JSON.stringify({ manager, prefix, python: join(prefix, 'bin', 'python'), pythonVersion: '3.11.7', fingerprint: 'f' })}\n`;

  it("names the env from what it holds: python.env's name for openai and JupyterLab, a digest for more", () => {
    const home = tempDir();
    const env = { HOME: home };
    const plain = resolvePlan(loadProfile('default', join(REPO_ROOT, 'env')), { repoRoot: REPO_ROOT, env, arch: 'x86_64' });
    const server = resolvePlan(loadProfile('llama-cpp-python', join(REPO_ROOT, 'env')), { repoRoot: REPO_ROOT, env, arch: 'x86_64' });
    assert.equal(plain.python.venvDir, join(home, '.local/share/llm-workbench/envs/llm-workbench'));
    assert.match(server.python.venvDir, /\/envs\/llm-workbench-[0-9a-f]{8}$/);
    assert.notEqual(sharedEnvName('e', { version: '3.11', extraPackages: ['six'], condaPackages: [], build: undefined }), sharedEnvName('e', { version: '3.11', extraPackages: ['rich'], condaPackages: [], build: undefined }));
  });

  it("reads the env's own record, and the profile's only when it names this plan's env (not the env of its former packages)", () => {
    const home = tempDir();
    const env = { HOME: home, LLM_WORKBENCH_STATE_DIR: join(home, 'state') };
    const plan = resolvePlan(loadProfile('llama-cpp-python', join(REPO_ROOT, 'env')), { repoRoot: REPO_ROOT, env, arch: 'x86_64' });
    mkdirSync(plan.paths.stateDir, { recursive: true });
    const profileRecord = join(plan.paths.stateDir, 'python-env.json');
    // The profile's record names the base env: it was a container profile a moment ago.
    writeFileSync(profileRecord, record(join(home, '.local/share/llm-workbench/envs/llm-workbench')));
    assert.equal(readPythonEnv(plan), undefined);
    writeFileSync(profileRecord, record(plan.python.venvDir));
    assert.equal(readPythonEnv(plan)?.prefix, plan.python.venvDir);
    // A conda env is found by its name wherever conda keeps it.
    writeFileSync(profileRecord, record(`/opt/conda/envs/${plan.python.envName}`, 'conda'));
    assert.equal(readPythonEnv(plan)?.prefix, `/opt/conda/envs/${plan.python.envName}`);
    // The env's own record wins.
    mkdirSync(plan.python.venvDir, { recursive: true });
    writeFileSync(join(plan.python.venvDir, 'llm-workbench-env.json'), record(plan.python.venvDir, 'uv'));
    assert.equal(readPythonEnv(plan)?.manager, 'uv');
  });
});
