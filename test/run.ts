/**
 * `make test`'s runner: each test file under node's test runner, then the wall time of each file,
 * and a check that the suite left the clone as it found it (no test writes a tracked file or
 * leaves an untracked one behind). Exits non-zero when a file failed or the tree changed.
 *
 *   test/run.ts <files...> [--lane <files...> --lane <files...>]
 *
 * The files before the first --lane run one after the other (the unit tests); then the lanes run
 * at the same time, each its files in order, each in a port range of its own. The end-to-end
 * files spend much of their time waiting (a server starting, an engine, a daemon): two lanes
 * keep both cores busy. A lane's output is printed whole when each of its files ends.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers.ts';

const args = process.argv.slice(2);
const groups: string[][] = [[]];
for (const arg of args) {
  if (arg === '--lane') groups.push([]);
  else groups[groups.length - 1]!.push(arg);
}
const [serial, ...lanes] = groups as [string[], ...string[][]];

const gitStatus = async () =>
  existsSync(join(REPO_ROOT, '.git')) ? (await execa('git', ['status', '--porcelain'], { cwd: REPO_ROOT, reject: false })).stdout : '';

interface Timing {
  file: string;
  seconds: number;
  ok: boolean;
}

async function runFile(file: string, options: { env?: Record<string, string>; buffered: boolean }): Promise<Timing> {
  const t0 = performance.now();
  const run = await execa('node', ['--import', 'tsx', '--test', '--test-concurrency=1', file], {
    cwd: REPO_ROOT,
    reject: false,
    env: options.env,
    ...(options.buffered ? { all: true, stdin: 'ignore' } : { stdio: 'inherit' }),
  });
  const seconds = (performance.now() - t0) / 1000;
  if (options.buffered) process.stdout.write(`\n===== ${file} (${seconds.toFixed(1)}s, ${run.exitCode === 0 ? 'ok' : 'FAILED'})\n${run.all ?? ''}\n`);
  return { file, seconds, ok: run.exitCode === 0 };
}

const before = await gitStatus();
const times: Timing[] = [];
const started = performance.now();
for (const file of serial) times.push(await runFile(file, { buffered: false }));
// Each lane a slice of the test port range (20000-29999), so worlds of two lanes never share a port.
const span = Math.floor(10_000 / Math.max(1, lanes.length));
const laneTimes = await Promise.all(
  lanes.map(async (files, i) => {
    const env = { LLM_WORKBENCH_TEST_PORTS: `${20000 + i * span}-${20000 + (i + 1) * span - 1}` };
    const done: Timing[] = [];
    for (const file of files) done.push(await runFile(file, { env, buffered: true }));
    return done;
  }),
);
for (const lane of laneTimes) times.push(...lane);
const after = await gitStatus();

console.log('\nwall time per test file:');
for (const { file, seconds, ok } of times) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${seconds.toFixed(1).padStart(7)}s  ${file}`);
if (lanes.length > 1) laneTimes.forEach((lane, i) => console.log(`  lane ${i + 1}: ${lane.reduce((sum, t) => sum + t.seconds, 0).toFixed(1)}s (${lane.map((t) => t.file.replace(/^test\/e2e\//, '')).join(', ')})`));
console.log(`  total ${((performance.now() - started) / 1000).toFixed(1)}s`);

let failed = times.some((t) => !t.ok);
if (after !== before) {
  console.log(`the tests changed the clone (git status --porcelain):\n  before: ${before || '(clean)'}\n  after:  ${after}`);
  failed = true;
} else {
  console.log(`git status --porcelain: ${after ? 'as before the tests' : 'clean'}`);
}
process.exitCode = failed ? 1 : 0;
