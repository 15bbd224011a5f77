import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { formatError, systemError, WorkbenchError } from '../../scripts/lib/errors.ts';
import { tempDir } from '../helpers.ts';

/** What a write to `dir` throws (a real errno error from the kernel). */
function writeError(dir: string, bytes: number): unknown {
  try {
    writeFileSync(join(dir, 'file'), Buffer.alloc(bytes));
  } catch (error) {
    return error;
  }
  assert.fail(`the write to ${dir} succeeded`);
}

describe('system errors at the error boundary', () => {
  const full = tempDir('wb-full-');
  const readOnly = tempDir('wb-ro-');
  before(async () => {
    // Real small file systems: a 64 kB tmpfs to fill, and one mounted read-only.
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', readOnly]);
  });
  after(async () => {
    await execa('umount', [full], { reject: false });
    await execa('umount', [readOnly], { reject: false });
  });

  it('names a full disk as such, with the path and the fix, never as a bug', () => {
    const text = formatError(writeError(full, 1024 * 1024), false);
    assert.match(text, /^error: cannot write a file \(the cache, state or data folder.*\): the disk is full \(no space left on device\) \(ENOSPC\)$/m);
    assert.match(text, /^hint: free space on the file system of .*df -h/m);
    assert.doesNotMatch(text, /bug/);
  });

  it('names a read-only file system', () => {
    const text = formatError(writeError(readOnly, 10), false);
    assert.match(text, /^error: cannot open .*wb-ro-.*file: the file system is read-only \(EROFS\)$/m);
    assert.doesNotMatch(text, /bug/);
  });

  it('names a file we may not create (EACCES)', () => {
    const error = Object.assign(new Error("EACCES: permission denied, open '/state/x'"), { code: 'EACCES', syscall: 'open', path: '/state/x' });
    const mapped = systemError(error);
    assert.ok(mapped instanceof WorkbenchError);
    assert.match(mapped.message, /^cannot open \/state\/x: permission denied \(EACCES\)$/);
    assert.match(mapped.hint, /ls -ld/);
  });

  it('still calls an error without an errno code a bug, with DEBUG=1 for the stack', () => {
    assert.match(formatError(new TypeError('x is undefined'), false), /hint: this is a bug in llm-workbench; run again with DEBUG=1/);
  });

  it('keeps our own errors as they are', () => {
    mkdirSync(join(full, 'unused'), { recursive: true });
    assert.equal(formatError(new WorkbenchError('m', 'h'), false), 'error: m\nhint: h');
  });
});
