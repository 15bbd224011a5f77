import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coresFinding, idleSleepFinding } from '../../../scripts/lib/doctor/preflight.ts';

describe("what make doctor says about the server's cores", () => {
  const hf = { profile: 'hf', url: 'http://127.0.0.1:8081/v1', startedAt: '2026-12-06T10:00:00.000Z' };

  it('names the profiles n_threads: auto shares the cores with, the split, and the way to every core', () => {
    const finding = coresFinding({ nThreads: 1, nThreadsBatch: 1, threadsAuto: true, coresShared: { cores: 1, of: 2, with: [hf] } });
    assert.equal(finding.status, 'info');
    assert.equal(finding.detail, 'decode threads 1, prompt threads 1: n_threads: auto gives this server 1 of the 2 cores, shared with profile hf (http://127.0.0.1:8081/v1) already serving (two servers that each take every core decode several times slower than two that split them)');
    assert.equal(finding.fix, 'to split evenly, restart what came first (make down PROFILE=hf, then make provision PROFILE=hf): it kept the cores it started with; or set server.n_threads');
    const two = coresFinding({ nThreads: 1, nThreadsBatch: 1, threadsAuto: true, coresShared: { cores: 1, of: 4, with: [hf, { ...hf, profile: 'x' }] } });
    assert.match(two.fix ?? '', /PROFILE=hf, then make provision PROFILE=hf; make down PROFILE=x, then make provision PROFILE=x\)/, 'every profile that came first is named');
  });

  it('says every core when nothing else serves, and the profile\'s own number when it names one', () => {
    assert.deepEqual(coresFinding({ nThreads: 2, nThreadsBatch: 2, threadsAuto: true }), { check: 'cpu', status: 'ok', detail: 'decode threads 2, prompt threads 2 (n_threads: auto: every core)' });
    assert.deepEqual(coresFinding({ nThreads: 3, nThreadsBatch: 3, threadsAuto: false }), { check: 'cpu', status: 'ok', detail: 'decode threads 3, prompt threads 3 (server.n_threads)' });
  });
});

describe('what make doctor says about idle sleep', () => {
  it('suggests server.idle_sleep for a model that takes most of the memory, says it is on where it is, and says nothing otherwise', () => {
    const [suggested] = idleSleepFinding({}, 9, 16, true);
    assert.equal(suggested?.status, 'info');
    assert.match(suggested?.detail ?? '', /about 9\.0 of 16\.0 GB/);
    assert.match(suggested?.fix ?? '', /server\.idle_sleep: 10m/);
    assert.deepEqual(idleSleepFinding({}, 1, 16, true), [], 'a small model: nothing to say');
    assert.deepEqual(idleSleepFinding({}, 9, 16, false), [], 'a backend that cannot sleep: nothing to suggest');
    assert.match(idleSleepFinding({ idleSleepSeconds: 600 }, 9, 16, true)[0]?.detail ?? '', /after 600 s without a request/);
  });
});
