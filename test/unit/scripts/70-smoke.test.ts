import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkScope } from '../../../scripts/70-smoke.ts';
import { answerTokens } from '../../../checks/smoke.ts';
import { smokeTimeoutSeconds } from '../../../checks/report.ts';
import { guideNotebook } from '../../../scripts/lib/jupyter/notebook.ts';

describe('which smoke checks run', () => {
  it('runs every check unless CHECKS=guide asks for the endpoints the guide calls, and names a value it does not know', () => {
    assert.equal(checkScope(undefined), 'all');
    assert.equal(checkScope(''), 'all');
    assert.equal(checkScope('all'), 'all');
    assert.equal(checkScope('guide'), 'guide');
    assert.throws(() => checkScope('tools'), (e: Error & { hint?: string }) => /CHECKS=tools is not a set of smoke checks/.test(e.message) && /CHECKS=guide/.test(e.hint ?? ''));
  });
});

describe('how many tokens the smoke checks ask for', () => {
  it('48 (12 on a quick re-check) unless SMOKE_MAX_TOKENS asks for fewer, and a value that is not a count is named', () => {
    assert.deepEqual(answerTokens({}), { full: 48, quick: 12 });
    assert.deepEqual(answerTokens({ SMOKE_MAX_TOKENS: '6' }), { full: 6, quick: 6 });
    assert.deepEqual(answerTokens({ SMOKE_MAX_TOKENS: '100' }), { full: 100, quick: 12 });
    assert.throws(() => answerTokens({ SMOKE_MAX_TOKENS: 'few' }), (e: Error & { hint?: string }) => /SMOKE_MAX_TOKENS must be a positive whole number, not "few"/.test(e.message) && /SMOKE_MAX_TOKENS=48/.test(e.hint ?? ''));
    assert.throws(() => answerTokens({ SMOKE_MAX_TOKENS: '0' }), /positive whole number/);
  });
});

describe('how long a smoke request may wait', () => {
  it('120 s unless SMOKE_TIMEOUT says otherwise; the notebook\'s client waits as long and never retries into a busy server', () => {
    assert.equal(smokeTimeoutSeconds({}), 120);
    assert.equal(smokeTimeoutSeconds({ SMOKE_TIMEOUT: '30' }), 30);
    assert.throws(() => smokeTimeoutSeconds({ SMOKE_TIMEOUT: 'soon' }), /SMOKE_TIMEOUT must be a positive whole number/);
    const notebook = guideNotebook();
    assert.match(notebook, /timeout=float\(os\.environ\.get\(\\"GUIDE_TIMEOUT\\", \\"600\\"\)\)/);
    assert.match(notebook, /max_retries=0/);
  });
});
