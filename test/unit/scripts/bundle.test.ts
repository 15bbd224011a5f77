import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { execa } from 'execa';
import { bundle, bundleEntries, dispatcherSource } from '../../../scripts/bundle.ts';
import { REPO_ROOT, tempDir } from '../../helpers.ts';

describe('the bundle make runs every command from (scripts/bundle.ts)', () => {
  const out = join(tempDir('wb-bundle-'), 'cli.mjs');
  let sources: string[];
  before(async () => {
    sources = await bundle(REPO_ROOT, out);
  });
  const env = { ...process.env, LLM_WORKBENCH_ENV_DIR: join(REPO_ROOT, 'env'), HOME: '/home/user', PROFILE: 'default' };

  it('holds every script make can run, and the bench', () => {
    const entries = bundleEntries(REPO_ROOT);
    for (const script of ['scripts/provision.ts', 'scripts/status.ts', 'scripts/40-model-server.ts', 'checks/bench.ts']) assert.ok(entries.includes(script), script);
    assert.ok(!entries.includes('scripts/bundle.ts'), 'the bundler is not in its own bundle');
    assert.match(dispatcherSource('/r', ['scripts/plan.ts']), /"scripts\/plan\.ts": \(\) => import\("\/r\/scripts\/plan\.ts"\)/);
  });

  it('prints the same plan as the sources run through tsx: the repo root, the templates and the entry script resolve as from source', async () => {
    const bundled = await execa('node', [out, 'scripts/plan.ts', '--json'], { env, reject: false });
    const fromSource = await execa('node', ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'plan.ts'), '--json'], { env, reject: false });
    assert.equal(bundled.exitCode, 0, bundled.stderr);
    assert.equal(bundled.stdout, fromSource.stdout);
    assert.ok(JSON.parse(bundled.stdout).server.command.argv.includes(join(REPO_ROOT, 'templates', 'chat', 'chatml-tools.jinja')), 'REPO_ROOT is the repo, not the bundle\'s folder');
  });

  it('runs only the script it is given: rendering writes its files (through write-file-atomic, a CommonJS package) and no other step runs', async () => {
    const build = tempDir('wb-bundle-build-');
    const rendered = await execa('node', [out, 'scripts/10-render.ts'], { env: { ...env, LLM_WORKBENCH_BUILD_DIR: build, LLM_WORKBENCH_STATE_DIR: join(build, 'state') }, reject: false });
    assert.equal(rendered.exitCode, 0, rendered.stderr);
    assert.match(rendered.stdout, /^10-render\s+created/m);
    assert.doesNotMatch(rendered.stdout, /^(00|15|20|30|35|40|50|60|70)-/m, 'another step ran');
    assert.ok(existsSync(join(build, 'default', 'Dockerfile')));
  });

  it('names the scripts it has when asked for one it does not', async () => {
    const unknown = await execa('node', [out, 'scripts/nope.ts'], { env, reject: false });
    assert.equal(unknown.exitCode, 2);
    assert.match(unknown.stderr, /scripts\/nope\.ts is not a command of this bundle \(one of: .*scripts\/status\.ts/);
  });

  it('lists in its make dependency file every file of ours it was made of, and none of node_modules, each with an empty rule', () => {
    const deps = readFileSync(out.replace(/\.mjs$/, '.d'), 'utf8');
    const [targetLine, ...rules] = deps.trim().split('\n');
    assert.ok(targetLine!.startsWith(`${relative(REPO_ROOT, out)}: `), targetLine);
    for (const file of ['scripts/lib/profile/plan.ts', 'checks/smoke.ts', 'scripts/40-model-server.ts', 'scripts/bundle.ts']) {
      assert.ok(sources.includes(file), file);
      assert.ok(rules.includes(`${file}:`), `${file} has no empty rule`);
    }
    assert.doesNotMatch(deps, /node_modules\//);
  });
});
