import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { tempDir } from '../../helpers.ts';
import { applySourcePatches, PACKAGE_PATCHES, SOURCE_PATCHES, WHEEL_PATCHES } from '../../../scripts/lib/llama-cpp/source-patches.ts';

/** llama.cpp's patches and llama-cpp-python's own (at ../../ from the llama.cpp tree, as in the sdist). */
const ALL_PATCHES = [...SOURCE_PATCHES, ...PACKAGE_PATCHES];

const PATCHER = join(import.meta.dirname, '..', '..', '..', 'scripts', 'python', 'patch_llama_cpp.py');

/** A llama.cpp tree (an sdist's vendor/llama.cpp) holding each patch's text, twice where a file has it twice. */
function treeWithPatchSites(): string {
  const tree = join(tempDir('wb-llama-cpp-'), 'vendor', 'llama.cpp');
  const byFile = new Map<string, string>();
  for (const patch of ALL_PATCHES) byFile.set(patch.file, `${byFile.get(patch.file) ?? '// head\n'}a = ${patch.find};\nb = ${patch.find};\n`);
  for (const [file, text] of byFile) {
    mkdirSync(dirname(join(tree, file)), { recursive: true });
    writeFileSync(join(tree, file), text);
  }
  return tree;
}

const read = (tree: string) => Object.fromEntries(ALL_PATCHES.map((p) => [p.file, readFileSync(join(tree, p.file), 'utf8')]));

describe('the llama.cpp and llama-cpp-python patches', () => {
  it('replace every occurrence, once: a second run changes nothing', () => {
    const tree = treeWithPatchSites();
    assert.deepEqual(applySourcePatches(tree, ALL_PATCHES), []);
    const once = read(tree);
    for (const patch of ALL_PATCHES) assert.equal(once[patch.file]!.split(`/* llm-workbench: ${patch.id} */`).length - 1 >= 1, true, patch.id);
    assert.deepEqual(applySourcePatches(tree, ALL_PATCHES), []);
    assert.deepEqual(read(tree), once);
  });

  it("are applied the same by the image's Python as by the native build", async () => {
    const native = treeWithPatchSites();
    const image = treeWithPatchSites();
    applySourcePatches(native, ALL_PATCHES);
    const listing = join(image, 'patches.json');
    writeFileSync(listing, JSON.stringify(ALL_PATCHES));
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

  it("go to the builds that have their files: llama-cpp-python's own code only to its wheel, never into llama-server's build key", () => {
    assert.ok(PACKAGE_PATCHES.length > 0 && PACKAGE_PATCHES.every((patch) => patch.scope === 'package'));
    assert.ok(SOURCE_PATCHES.every((patch) => patch.scope !== 'package'));
    assert.deepEqual(WHEEL_PATCHES.map((patch) => patch.id), [...SOURCE_PATCHES.filter((patch) => patch.scope === 'engine'), ...PACKAGE_PATCHES].map((patch) => patch.id));
  });
});
