import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { speculationModes } from '../../../checks/bench.ts';
import { speculationVerdict, type SpeculationRun } from '../../../checks/bench/speculation.ts';

const run = (mode: SpeculationRun['mode'], guideDecode: number, codeDecode: number, aggregate: number): SpeculationRun => ({ mode, guideDecode, codeDecode, aggregate, clients: 4 });

describe('the speculation default make bench justifies', () => {
  it('takes the mode faster on both prompt kinds with the best combined gain, when the aggregate holds', () => {
    const verdict = speculationVerdict([run('off', 96, 44.8, 150), run('ngram-simple', 116, 78.8, 148), run('ngram-map-k', 110, 73.6, 149), run('ngram-mod', 90, 62.8, 150)]);
    assert.equal(verdict.best, 'ngram-simple');
    assert.match(verdict.verdict, /^ngram-simple \(ngram-simple: guide x1\.21, code x1\.76, 4 clients x0\.99\)$/);
  });

  it('keeps off when a mode is slower on one prompt kind, or costs the busy server more than 5%', () => {
    assert.equal(speculationVerdict([run('off', 100, 50, 150), run('ngram-mod', 99, 80, 150)]).best, 'off', 'slower on the guide\'s prompts');
    assert.equal(speculationVerdict([run('off', 100, 50, 150), run('ngram-simple', 120, 80, 140)]).best, 'off', '4 clients lose 7%');
    assert.match(speculationVerdict([run('off', 100, 50, 150), run('ngram-simple', 120, 80, 140)]).verdict, /^off: no mode is faster on both prompt kinds without costing 4 clients more than 5% \(ngram-simple: guide x1\.20, code x1\.60, 4 clients x0\.93\)$/);
    assert.equal(speculationVerdict([run('ngram-simple', 120, 80, 150)]).best, 'off', 'nothing to compare with');
  });

  it('measures off first and every mode by default; BENCH_SPECULATION=none skips it, an unknown mode is refused', () => {
    assert.deepEqual(speculationModes(undefined), ['off', 'ngram-simple', 'ngram-map-k', 'ngram-mod', 'ngram-cache']);
    assert.deepEqual(speculationModes('ngram-simple'), ['off', 'ngram-simple']);
    assert.deepEqual(speculationModes('none'), []);
    assert.throws(() => speculationModes('eagle'), /BENCH_SPECULATION names eagle, which server\.speculative does not know/);
  });
});
