import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { parse } from 'yaml';
import { dockerJson, shellQuote, yamlValue } from '../../../scripts/lib/render/quote.ts';

const awkward = ["plain", "with space", "it's", '$(rm -rf /)', '`id`', 'a"b', 'back\\slash', '*glob?', '', 'new\nline', 'ünïcode 東京'];

describe('quoting', () => {
  it('shell-quotes any value so that bash reads back exactly that value', async () => {
    for (const value of awkward) {
      const { stdout } = await execa('bash', ['-c', `printf %s ${shellQuote(value)}`]);
      assert.equal(stdout, value);
    }
  });

  it('leaves plain words unquoted for readable output', () => {
    assert.equal(shellQuote('llama-cpp-python==0.3.36'), 'llama-cpp-python==0.3.36');
    assert.equal(shellQuote('/opt/venv/bin/activate'), '/opt/venv/bin/activate');
  });

  it('writes YAML values that parse back to the same value', () => {
    for (const value of [...awkward, ['a b', 'c: d', '#x'], 'blas=*=*mkl', '*alias', 'yes', '8080']) {
      assert.deepEqual(parse(`key: ${yamlValue(value)}`), { key: value });
    }
  });

  it("writes YAML that a YAML 1.1 reader (Kubernetes' go-yaml, PyYAML) reads back as strings too: on, off, yes, no, y, n", () => {
    for (const value of ['on', 'off', 'yes', 'no', 'y', 'n', 'On', 'NO', '0x1F', '1_000']) {
      assert.deepEqual(parse(`key: ${yamlValue(value)}`, { version: '1.1' }), { key: value }, `${value} as ${yamlValue(value)}`);
    }
    assert.equal(yamlValue(['--flash-attn', 'on']), '[ --flash-attn, "on" ]');
  });

  it('writes Dockerfile exec-form arrays as JSON', () => {
    assert.equal(dockerJson(['python', 'a b']), '["python","a b"]');
  });
});
