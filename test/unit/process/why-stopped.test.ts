import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeExit } from '../../../scripts/lib/process/why-stopped.ts';

describe('how a process ended, in words (process/why-stopped.ts)', () => {
  it('names a signal by the name people know: an abort() is SIGABRT, not its alias SIGIOT', () => {
    // sh reports a program killed by signal N as 128 + N; llama-server aborts (6) when an RPC worker drops.
    assert.equal(describeExit(128 + 6), 'killed by SIGABRT');
    assert.equal(describeExit(128 + 15), 'killed by SIGTERM');
    assert.match(describeExit(128 + 9), /^killed by SIGKILL \(out of memory\?/);
  });

  it('reports a plain exit status as one', () => {
    assert.equal(describeExit(1), 'exited with status 1');
    assert.equal(describeExit(128), 'exited with status 128');
  });
});
