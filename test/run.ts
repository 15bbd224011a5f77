/**
 * `make test`'s runner: the unit files, then each end-to-end file in order under node's test
 * runner, then the wall time of each, and a check that the suite left the clone as it found it
 * (no test writes a tracked file or leaves an untracked one behind). Exits non-zero when a file
 * failed or the tree changed.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers.ts';

const files = process.argv.slice(2);
const gitStatus = async () =>
  existsSync(join(REPO_ROOT, '.git')) ? (await execa('git', ['status', '--porcelain'], { cwd: REPO_ROOT, reject: false })).stdout : '';

/**
 * The unit files run in one call, two at a time (each file is its own process: starting node and
 * tsx is most of a unit file's second); the end-to-end files one at a time, alone: two model
 * servers on these cores would slow each other several times over.
 */
const units = files.filter((file) => file.startsWith('test/unit/'));
const batches = [...(units.length ? [{ label: `test/unit (${units.length} files)`, files: units, concurrency: 2 }] : []), ...files.filter((file) => !units.includes(file)).map((file) => ({ label: file, files: [file], concurrency: 1 }))];

const before = await gitStatus();
const times: { file: string; seconds: number; ok: boolean }[] = [];
const started = performance.now();
for (const batch of batches) {
  const t0 = performance.now();
  const run = await execa('node', ['--import', 'tsx', '--test', `--test-concurrency=${batch.concurrency}`, ...batch.files], { cwd: REPO_ROOT, stdio: 'inherit', reject: false });
  times.push({ file: batch.label, seconds: (performance.now() - t0) / 1000, ok: run.exitCode === 0 });
}
const after = await gitStatus();

console.log('\nwall time per test file:');
for (const { file, seconds, ok } of times) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${seconds.toFixed(1).padStart(7)}s  ${file}`);
console.log(`  total ${((performance.now() - started) / 1000).toFixed(1)}s`);

let failed = times.some((t) => !t.ok);
if (after !== before) {
  console.log(`the tests changed the clone (git status --porcelain):\n  before: ${before || '(clean)'}\n  after:  ${after}`);
  failed = true;
} else {
  console.log(`git status --porcelain: ${after ? 'as before the tests' : 'clean'}`);
}
process.exitCode = failed ? 1 : 0;
