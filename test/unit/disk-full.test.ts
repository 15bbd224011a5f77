import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failedForSpace, isDiskFull } from '../../scripts/lib/disk-full.ts';

const MB = 1024 * 1024;
const LOST = "  | /usr/bin/ar: unable to copy file 'src/libllama.a'; reason: Success\n  | ninja: build stopped: subcommand failed.";

describe('a command that failed for lack of space', () => {
  it('is known by its output, whatever is free now', () => {
    assert.ok(isDiskFull({ code: 'ENOSPC' }));
    assert.ok(failedForSpace('OSError: [Errno 28] No space left on device', 10_000 * MB));
    assert.ok(failedForSpace('fatal error: cannot write: No space left on device', undefined));
  });

  it("is known by nearly nothing left, or by ar's lost write error with less left than an archive needs (ar removes its half-written file first)", () => {
    assert.ok(failedForSpace('error: something', 3 * MB));
    assert.ok(failedForSpace(LOST, 9.3 * MB), 'what the CI saw: 9 MB free again once ar removed libllama.a');
    assert.ok(!failedForSpace(LOST, 500 * MB), 'a lost write with room to spare is another failure');
  });

  it('is not every failure: a compile error with room left stays a compile error', () => {
    assert.ok(!failedForSpace("error: 'foo' was not declared in this scope", 20 * MB));
    assert.ok(!failedForSpace('error: something', undefined));
  });
});
