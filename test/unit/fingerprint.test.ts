import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeChanges } from '../../scripts/lib/fingerprint.ts';

describe('facts and their changes', () => {
  it('names what changed between two sets of facts, secrets shortened', () => {
    assert.equal(describeChanges({ '--n_ctx': '2048', 'llama_cpp.version': '0.3.36' }, { '--n_ctx': '1024', 'llama_cpp.version': '0.3.36' }), '--n_ctx 2048 -> 1024');
    assert.equal(describeChanges({ a: '1' }, { a: '1', b: '2' }), 'b (none) -> 2');
    assert.equal(describeChanges(undefined, { a: '1' }), 'configuration of an earlier version');
    assert.match(describeChanges({ k: 'x'.repeat(64) }, { k: 'y'.repeat(64) }), /^k x{12}\.\.\.x{8} -> y{12}\.\.\.y{8}$/);
  });
});
