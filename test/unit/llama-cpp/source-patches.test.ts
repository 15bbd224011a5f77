import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { applySourcePatches, SOURCE_PATCHES } from '../../../scripts/lib/llama-cpp/source-patches.ts';

const PATCHER = join(import.meta.dirname, '..', '..', '..', 'scripts', 'python', 'patch_llama_cpp.py');

/** A llama.cpp tree holding each patch's text, twice where a file has it twice. */
function treeWithPatchSites(): string {
  const tree = mkdtempSync(join(tmpdir(), 'llama-cpp-'));
  const byFile = new Map<string, string>();
  for (const patch of SOURCE_PATCHES) byFile.set(patch.file, `${byFile.get(patch.file) ?? '// head\n'}a = ${patch.find};\nb = ${patch.find};\n`);
  for (const [file, text] of byFile) {
    mkdirSync(dirname(join(tree, file)), { recursive: true });
    writeFileSync(join(tree, file), text);
  }
  return tree;
}

const read = (tree: string) => Object.fromEntries(SOURCE_PATCHES.map((p) => [p.file, readFileSync(join(tree, p.file), 'utf8')]));

describe('the llama.cpp patches for tool calling', () => {
  it('replace every occurrence, once: a second run changes nothing', () => {
    const tree = treeWithPatchSites();
    assert.deepEqual(applySourcePatches(tree), []);
    const once = read(tree);
    for (const patch of SOURCE_PATCHES) assert.equal(once[patch.file]!.split(`/* llm-workbench: ${patch.id} */`).length - 1 >= 1, true, patch.id);
    assert.deepEqual(applySourcePatches(tree), []);
    assert.deepEqual(read(tree), once);
  });

  it("are applied the same by the image's Python as by the native build", async () => {
    const native = treeWithPatchSites();
    const image = treeWithPatchSites();
    applySourcePatches(native);
    const listing = join(image, 'patches.json');
    writeFileSync(listing, JSON.stringify(SOURCE_PATCHES));
    await execa('python3', [PATCHER, image, listing]);
    assert.deepEqual(read(image), read(native));
  });

  it('name the patches that do not apply to another llama.cpp, and leave its files as they are', async () => {
    const tree = treeWithPatchSites();
    const file = join(tree, SOURCE_PATCHES[0]!.file);
    writeFileSync(file, '// another llama.cpp\n');
    assert.deepEqual(applySourcePatches(tree, [SOURCE_PATCHES[0]!]), [SOURCE_PATCHES[0]!.id]);
    assert.equal(readFileSync(file, 'utf8'), '// another llama.cpp\n');
    const listing = join(tree, 'patches.json');
    writeFileSync(listing, JSON.stringify([SOURCE_PATCHES[0]]));
    const python = await execa('python3', [PATCHER, tree, listing]);
    assert.match(python.stderr, new RegExp(`llama.cpp patch ${SOURCE_PATCHES[0]!.id} does not apply`));
  });
});
