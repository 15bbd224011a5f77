import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { WorkbenchError } from '../../../scripts/lib/errors.ts';
import { acquireLock } from '../../../scripts/lib/state/lock.ts';
import { processStartTime } from '../../../scripts/lib/state/process-identity.ts';
import { REPO_ROOT, tempDir } from '../../helpers.ts';

const HOLDER = join(REPO_ROOT, 'test', 'unit', 'fixtures', 'hold-lock.ts');

/** A pid that was alive a moment ago and is not any more. */
function deadPid(): number {
  const child = spawnSync('sh', ['-c', 'echo $$']);
  return Number(String(child.stdout).trim());
}

function staleLock(file: string, pid = deadPid(), startTime = '1'): void {
  writeFileSync(file, `${JSON.stringify({ pid, startTime, command: 'make provision', since: '2026-01-01T00:00:00Z' })}\n`);
}

describe('the profile lock', () => {
  it('is taken whole: the file names its holder from the first moment, and is gone after release', () => {
    const file = join(tempDir(), 'workbench.lock');
    const release = acquireLock(file, { command: 'make server', what: 'profile "t"' });
    const holder = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(holder.pid, process.pid);
    assert.equal(holder.startTime, processStartTime(process.pid));
    assert.equal(holder.command, 'make server');
    release();
    assert.equal(existsSync(file), false);
  });

  it('refuses a second command while the first holds it, naming the first', () => {
    const file = join(tempDir(), 'workbench.lock');
    const release = acquireLock(file, { command: 'make provision', what: 'profile "t"' });
    try {
      assert.throws(() => acquireLock(file, { command: 'make server', what: 'profile "t"' }), (error: unknown) => {
        assert.ok(error instanceof WorkbenchError);
        assert.match(error.message, new RegExp(`make provision \\(pid ${process.pid}, since .*\\) is changing profile "t"`));
        assert.match(error.hint, /wait for it to finish/);
        return true;
      });
    } finally {
      release();
    }
  });

  it('takes over a lock whose holder is dead, and one whose pid now belongs to another process, and says so', (t) => {
    const said = t.mock.method(console, 'error', () => {});
    const dir = tempDir();
    for (const [name, pid, startTime] of [['dead.lock', deadPid(), '1'], ['reused.lock', process.pid, 'not-my-start-time']] as const) {
      const file = join(dir, name);
      staleLock(file, pid, startTime);
      const release = acquireLock(file, { command: 'make server', what: 'profile "p"' });
      const holder = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(holder.pid, process.pid, `${name}: the lock is ours now`);
      assert.equal(holder.command, 'make server');
      const line = String(said.mock.calls.at(-1)?.arguments[0]);
      assert.match(line, new RegExp(`took over the lock of make provision \\(pid ${pid}, since 2026-01-01T00:00:00Z\\) on profile "p": that process is gone`));
      release();
      assert.equal(existsSync(file), false);
    }
    assert.equal(said.mock.callCount(), 2);
  });

  it('lets exactly one of three racing processes break a stale lock and hold it, ten times over', async () => {
    for (let trial = 0; trial < 10; trial++) {
      const file = join(tempDir(), 'workbench.lock');
      staleLock(file);
      const runs = await Promise.all(
        [0, 1, 2].map(() => execa('node', ['--import', 'tsx', HOLDER, file, '400'], { cwd: REPO_ROOT, reject: false })),
      );
      const outcomes = runs.map((r) => JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { got: boolean; start?: number; end?: number; message?: string });
      const holders = outcomes.filter((o) => o.got).sort((a, b) => a.start! - b.start!);
      assert.ok(holders.length >= 1, `trial ${trial}: nobody got the lock: ${JSON.stringify(outcomes)}`);
      for (let i = 1; i < holders.length; i++) {
        assert.ok(holders[i]!.start! >= holders[i - 1]!.end!, `trial ${trial}: two processes held the lock at once: ${JSON.stringify(holders)}`);
      }
      for (const refused of outcomes.filter((o) => !o.got)) assert.match(refused.message ?? '', /is changing the test profile/);
    }
  });
});
