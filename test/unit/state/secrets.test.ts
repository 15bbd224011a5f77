import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WorkbenchError } from '../../../scripts/lib/errors.ts';
import { ensureSecret, NEW_SECRET, serverApiKey } from '../../../scripts/lib/state/secrets.ts';
import { tempDir } from '../../helpers.ts';

describe("a profile's secrets", () => {
  it('are made once, random, in a 0600 file, and read back the same', () => {
    const file = join(tempDir(), 'api-key');
    const first = ensureSecret(file);
    assert.equal(first.created, true);
    assert.match(first.value, /^[0-9a-f]{48}$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(ensureSecret(file), { value: first.value, created: false });
  });

  it('give the server key from its file, from the variable the profile names, or none; a preview creates nothing', () => {
    const file = join(tempDir(), 'api-key');
    assert.equal(serverApiKey({ server: { apiKey: { kind: 'generate', file } } }, {}, true), NEW_SECRET);
    const made = serverApiKey({ server: { apiKey: { kind: 'generate', file } } }, {});
    assert.match(made ?? '', /^[0-9a-f]{48}$/);
    assert.equal(serverApiKey({ server: { apiKey: { kind: 'env', variable: 'MY_KEY' } } }, { MY_KEY: 'k' }), 'k');
    assert.equal(serverApiKey({ server: { apiKey: { kind: 'none' } } }, {}), undefined);
  });

  it('name the variable and the fix when server.api_key is env:NAME and NAME is not set', () => {
    assert.throws(() => serverApiKey({ server: { apiKey: { kind: 'env', variable: 'MY_KEY' } } }, {}), (error: unknown) => {
      assert.ok(error instanceof WorkbenchError);
      assert.equal(error.message, 'server.api_key is env:MY_KEY, but MY_KEY is not set');
      assert.match(error.hint, /export MY_KEY=<your key>/);
      return true;
    });
  });
});
