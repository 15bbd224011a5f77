import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { placeWebUi, stageWebUiForImage, WEB_UI, WEB_UI_CONTEXT_DIR } from '../../../scripts/lib/llama-cpp/web-ui.ts';
import { planOf, tempDir } from '../../helpers.ts';

/** A plan whose cache holds a built page (index.html, an asset, and the cache entry's build-info.json). */
function planWithBuiltPage() {
  const plan = planOf('default', { HOME: '/home/u', LLM_WORKBENCH_CACHE_DIR: tempDir('wb-cache-') });
  const dir = WEB_UI.dir(plan);
  mkdirSync(join(dir, '_app'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<html><script src="./_app/start.js"></script></html>');
  writeFileSync(join(dir, '_app', 'start.js'), 'console.log(1)');
  writeFileSync(join(dir, 'build-info.json'), '{"sdistSha256":"x"}');
  return plan;
}

describe("llama.cpp's chat page", () => {
  it('is cached under a key of the llama.cpp version and the recipe, and counts as built only with its index.html', () => {
    const plan = planOf('default', { HOME: '/home/u', LLM_WORKBENCH_CACHE_DIR: tempDir('wb-cache-') });
    assert.match(WEB_UI.dir(plan), /\/llama-ui\/llama\.cpp-0\.3\.36-[0-9a-f]{12}$/);
    assert.equal(WEB_UI.cached(plan), false);
    mkdirSync(WEB_UI.dir(plan), { recursive: true });
    assert.equal(WEB_UI.cached(plan), false, 'an empty folder is no page');
    writeFileSync(join(WEB_UI.dir(plan), 'index.html'), '<html></html>');
    assert.equal(WEB_UI.cached(plan), true);
  });

  it("goes into the source tree's tools/ui/dist whole, without the cache's build-info.json (every file there is served), and only once", () => {
    const plan = planWithBuiltPage();
    const source = tempDir('wb-src-');
    placeWebUi(plan, source);
    const dist = join(source, 'tools', 'ui', 'dist');
    assert.deepEqual(readdirSync(dist).sort(), ['_app', 'index.html']);
    assert.ok(existsSync(join(dist, '_app', 'start.js')));
    assert.deepEqual(readdirSync(join(source, 'tools', 'ui')), ['dist'], 'no partial folder left');
    writeFileSync(join(dist, 'index.html'), 'kept');
    placeWebUi(plan, source);
    assert.ok(existsSync(join(dist, 'index.html')));
  });

  it("goes into an image's build context beside the Dockerfile, replacing what an earlier build left there", async () => {
    const plan = planWithBuiltPage();
    const context = tempDir('wb-context-');
    mkdirSync(join(context, WEB_UI_CONTEXT_DIR, '_app'), { recursive: true });
    writeFileSync(join(context, WEB_UI_CONTEXT_DIR, '_app', 'old.js'), 'old');
    await stageWebUiForImage(plan, context);
    assert.deepEqual(readdirSync(join(context, WEB_UI_CONTEXT_DIR)).sort(), ['_app', 'index.html']);
    assert.deepEqual(readdirSync(join(context, WEB_UI_CONTEXT_DIR, '_app')), ['start.js']);
  });
});
