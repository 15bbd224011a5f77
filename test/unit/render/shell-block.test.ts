import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WorkbenchError } from '../../../scripts/lib/errors.ts';
import { BASHRC_BEGIN, BASHRC_END } from '../../../scripts/lib/render/shell-block.ts';
import { installManagedBlock, withManagedBlock } from '../../../scripts/lib/render/shell-block.ts';
import { tempDir } from '../../helpers.ts';

const block = (n: number) => `${BASHRC_BEGIN}\nexport X=${n}\n${BASHRC_END}\n`;

describe('the managed ~/.bashrc block', () => {
  it('appends the block after the user\'s lines, separated by a blank line', () => {
    assert.equal(withManagedBlock('alias ll="ls -l"\n', block(1), 'rc'), `alias ll="ls -l"\n\n${block(1)}`);
    assert.equal(withManagedBlock('', block(1), 'rc'), block(1));
  });

  it('replaces only the lines between the markers and keeps what is around them', () => {
    const text = `before\n${block(1)}after\n`;
    assert.equal(withManagedBlock(text, block(2), 'rc'), `before\n${block(2)}after\n`);
  });

  it('leaves one block however often it runs', () => {
    let text = 'mine\n';
    for (let i = 0; i < 3; i++) text = withManagedBlock(text, block(7), 'rc');
    assert.equal(text.split(BASHRC_BEGIN).length - 1, 1);
  });

  it('refuses to guess when the block is damaged', () => {
    assert.throws(() => withManagedBlock(`${BASHRC_BEGIN}\nexport X=1\n`, block(1), '/home/u/.bashrc'), (error: unknown) => {
      assert.ok(error instanceof WorkbenchError);
      assert.match(error.message, /\/home\/u\/\.bashrc has a damaged llm-workbench block/);
      return true;
    });
  });

  it('backs the file up once, before the first change, and keeps its mode', () => {
    const dir = tempDir();
    const rc = join(dir, '.bashrc');
    writeFileSync(rc, 'mine\n');
    chmodSync(rc, 0o640);
    assert.deepEqual(installManagedBlock(rc, block(1)), { outcome: 'replaced', backup: `${rc}.llm-workbench.bak`, target: rc });
    assert.equal(readFileSync(`${rc}.llm-workbench.bak`, 'utf8'), 'mine\n');
    assert.equal(statSync(rc).mode & 0o777, 0o640);
    assert.deepEqual(installManagedBlock(rc, block(1)), { outcome: 'unchanged', target: rc });
    assert.deepEqual(installManagedBlock(rc, block(2)), { outcome: 'replaced', target: rc });
    assert.equal(readFileSync(`${rc}.llm-workbench.bak`, 'utf8'), 'mine\n', 'the first backup is kept');
  });

  it('creates a missing ~/.bashrc without a backup', () => {
    const rc = join(tempDir(), '.bashrc');
    assert.deepEqual(installManagedBlock(rc, block(1)), { outcome: 'created', target: rc });
    assert.equal(existsSync(`${rc}.llm-workbench.bak`), false);
  });

  it('edits a symlinked ~/.bashrc at its target, and the link stays a link', () => {
    const dir = tempDir();
    const dotfiles = join(dir, 'dotfiles');
    mkdirSync(dotfiles);
    const target = join(dotfiles, 'bashrc');
    writeFileSync(target, 'mine\n');
    const rc = join(dir, '.bashrc');
    symlinkSync(target, rc);
    const result = installManagedBlock(rc, block(1));
    assert.equal(result.outcome, 'replaced');
    assert.equal(result.target, target);
    assert.ok(lstatSync(rc).isSymbolicLink(), 'the symlink was replaced by a plain file');
    assert.equal(readFileSync(target, 'utf8'), `mine\n\n${block(1)}`);
    assert.equal(readFileSync(`${rc}.llm-workbench.bak`, 'utf8'), 'mine\n');
    assert.equal(installManagedBlock(rc, block(1)).outcome, 'unchanged');
  });

  it('recognises its block after a Windows editor saved the file with CRLF line ends', () => {
    const crlf = `mine\r\n${block(1).replace(/\n/g, '\r\n')}after\r\n`;
    const updated = withManagedBlock(crlf, block(2), 'rc');
    assert.equal(updated.split(BASHRC_BEGIN).length - 1, 1, updated);
    assert.equal(updated, `mine\r\n${block(2)}after\r\n`);
  });

  it('says which file it cannot write, and how to fix it, when ~/.bashrc is immutable', (t) => {
    const rc = join(tempDir(), '.bashrc');
    writeFileSync(rc, 'mine\n');
    execFileSync('chattr', ['+i', rc]);
    t.after(() => execFileSync('chattr', ['-i', rc]));
    assert.throws(() => installManagedBlock(rc, block(1)), (error: unknown) => {
      assert.ok(error instanceof WorkbenchError, String(error));
      assert.match(error.message, new RegExp(`cannot write ${rc}: permission denied`));
      assert.match(error.hint, /chattr -i/);
      return true;
    });
    assert.equal(readFileSync(rc, 'utf8'), 'mine\n');
  });
});
