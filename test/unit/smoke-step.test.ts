import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkScope } from '../../scripts/70-smoke.ts';

describe('which smoke checks run', () => {
  it('runs every check unless CHECKS=guide asks for the endpoints the guide calls, and names a value it does not know', () => {
    assert.equal(checkScope(undefined), 'all');
    assert.equal(checkScope(''), 'all');
    assert.equal(checkScope('all'), 'all');
    assert.equal(checkScope('guide'), 'guide');
    assert.throws(() => checkScope('tools'), (e: Error & { hint?: string }) => /CHECKS=tools is not a set of smoke checks/.test(e.message) && /CHECKS=guide/.test(e.hint ?? ''));
  });
});
