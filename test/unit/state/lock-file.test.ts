import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { lockDrift } from '../../../scripts/lib/python-env/lock.ts';
import { readLock, requirementsFromReport, updateLock } from '../../../scripts/lib/state/lock-file.ts';
import { tempDir } from '../../helpers.ts';

const item = (name: string, version: string, sha256?: string) => ({ metadata: { name, version }, download_info: { archive_info: { hashes: sha256 ? { sha256 } : {} } } });

describe('the profile lock file', () => {
  it('pins pip\'s resolution as --require-hashes lines, leaving out what we build ourselves', () => {
    const report = { install: [item('openai', '3.57.0', 'a'.repeat(64)), item('llama_cpp_python', '0.3.36', 'b'.repeat(64)), item('Jinja2', '3.1.6', 'c'.repeat(64))] };
    assert.deepEqual(requirementsFromReport(report, ['llama-cpp-python']), [`jinja2==3.1.6 --hash=sha256:${'c'.repeat(64)}`, `openai==3.57.0 --hash=sha256:${'a'.repeat(64)}`]);
    assert.throws(() => requirementsFromReport({ install: [item('x', '1')] }, []), /pip reported no sha256 for x 1/);
  });

  it('updates one section and keeps the others (the model sha256 stays when the packages are pinned)', () => {
    const file = join(tempDir(), 'p.lock.json');
    writeFileSync(file, JSON.stringify({ models: { m: { source: 's', sha256: 'd'.repeat(64) } } }));
    updateLock(file, (lock) => void (lock.llamaCpp = { version: '0.3.36', sdistSha256: 'e'.repeat(64), llamaCppCommit: '0c1e570' }));
    const lock = readLock(file);
    assert.equal(lock.models.m?.sha256, 'd'.repeat(64));
    assert.equal(lock.llamaCpp?.llamaCppCommit, '0c1e570');
    const before = readFileSync(file, 'utf8');
    updateLock(file, () => {});
    assert.equal(readFileSync(file, 'utf8'), before);
  });

  it('names the packages of an env that drifted from its lock', async () => {
    const lock = { for: { python: '3', platform: 'x', packages: [] }, requirements: [`pip==0.0.1 --hash=sha256:${'f'.repeat(64)}`, `no-such-package-xyz==1.0 --hash=sha256:${'f'.repeat(64)}`] };
    const drift = await lockDrift('python3', lock);
    assert.match(drift ?? '', /^pip \S+ installed, the lock says 0\.0\.1; no-such-package-xyz not installed, the lock says 1\.0$/);
  });
});
