import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WorkbenchError } from '../../../scripts/lib/errors.ts';
import { ensureModel } from '../../../scripts/lib/model/fetch.ts';
import { planOf, tempDir } from '../../helpers.ts';

/** A profile whose model is the user's own file (file:), in a HOME of its own. */
function planWithOwnFile(contents: string, sha256?: string) {
  const dir = tempDir();
  const file = join(dir, 'mine.gguf');
  writeFileSync(file, contents);
  const model = `model:\n  source: file:${file}\n  alias: mine\n${sha256 ? `  sha256: ${sha256}\n` : ''}`;
  return { file, plan: planOf('own', { HOME: join(dir, 'home') }, { own: `extends: default\n${model}` }) };
}

describe("a file: model, the user's own file", () => {
  it('is used where it is: a wrong sha256 is refused with a fix, and the file is left alone', async () => {
    const { file, plan } = planWithOwnFile('not the bytes the profile names', 'a'.repeat(64));
    assert.equal(plan.model.path, file);
    await assert.rejects(ensureModel(plan, plan.model, 'python3', () => {}), (error: unknown) => {
      assert.ok(error instanceof WorkbenchError);
      assert.match(error.message, /the sha256 of .*mine\.gguf is [0-9a-f]{64}, but model\.sha256 in the profile says a{64}/);
      assert.match(error.hint, /fix model\.sha256 or point model\.source at the right file/);
      return true;
    });
    assert.equal(readFileSync(file, 'utf8'), 'not the bytes the profile names', 'never removed or fetched again');
  });

  it('that is not a model is refused and kept, where a cached download would be removed and fetched again', async () => {
    const { file, plan } = planWithOwnFile('plain text, no GGUF header');
    await assert.rejects(ensureModel(plan, plan.model, 'python3', () => {}), WorkbenchError);
    assert.ok(existsSync(file), 'the user\'s file is still there');
  });
});
