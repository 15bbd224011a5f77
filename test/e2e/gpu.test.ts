/**
 * A GPU build for real on a machine without a GPU: llama.cpp's Vulkan backend built from the
 * pinned source (headers from Debian trixie where bookworm's are too old) and run on Mesa's
 * lavapipe, a real Vulkan device on the CPU. The server's own loading report must say every layer
 * went to that device; the guide's smoke checks pass; make status names it.
 * And the other side: a GPU that is asked for and cannot be had stops before anything is built.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONTAINERS_CONF, ensureBaseImage, podman, TEST_BASE_IMAGE } from './podman.ts';
import { make, newWorld, worldProfiles } from './support.ts';

describe('accelerator.kind: vulkan on lavapipe', () => {
  const world = newWorld();
  let first: Awaited<ReturnType<typeof make>>;
  before(async () => {
    // The guide's endpoints only, and no JupyterLab: lavapipe reads a prompt at about 2 tokens/s and
    // decodes at 1, and what runs on top of those endpoints (tools, structured output, the guide's
    // notebook, whose client is the same HTTP whatever the device) is proven on the CPU by the
    // native tests; here it cost three minutes of CI.
    worldProfiles(world, { vulkan: 'extends: default\naccelerator:\n  kind: vulkan\njupyter:\n  enabled: false\n' });
    first = await make(world, 'provision', { PROFILE: 'vulkan', CHECKS: 'guide', SMOKE_MAX_TOKENS: '8' });
  });
  after(async () => {
    await make(world, 'down', { PROFILE: 'vulkan' });
  });

  it("builds llama-server for Vulkan, serves every layer on the lavapipe device, and passes the guide's smoke checks", async () => {
    assert.equal(first.exitCode, 0, first.all);
    assert.match(first.stdout, /^15-server-build\s+(created|unchanged)\s+[\d.]+s\s+llama-server /m);
    assert.match(first.stdout, /^40-model-server\s+created\s+[\d.]+s\s+\S+ \(pid \d+\) on Vulkan0 \(llvmpipe[^)]*\)\): 31\/31 layers offloaded$/m);
    for (const check of ['models', 'completions', 'chat', 'embeddings', 'streaming', 'errors']) {
      assert.match(first.stdout, new RegExp(`^\\s+pass\\s+${check}\\s+\\d+ ms`, 'm'), `check ${check} did not pass:\n${first.stdout}`);
    }
    assert.match(first.stdout, /^70-smoke\s+unchanged\s+[\d.]+s\s+6 checks passed \(CHECKS=guide: the guide's endpoints only\)/m);
    assert.doesNotMatch(first.stdout, /^\s+\S+\s+tools\s/m);
  });

  it('names the device and the offload in make status and make plan', async () => {
    const status = await make(world, 'status', { PROFILE: 'vulkan' });
    assert.equal(status.exitCode, 0, status.all);
    assert.match(status.stdout, /^model-server: on Vulkan0 \(llvmpipe .*\): 31\/31 layers offloaded$/m);
    const plan = JSON.parse((await make(world, 'plan', { JSON: '1', PROFILE: 'vulkan' })).stdout);
    assert.equal(plan.accelerator.name, 'vulkan');
    assert.deepEqual(plan.accelerator.serverEnv, { GGML_VK_VISIBLE_DEVICES: '0' });
    assert.ok(plan.server.command.argv.includes('--n-gpu-layers'));
    // The lock says what was built: for Vulkan, with which headers.
    const lock = JSON.parse(readFileSync(join(world.env.LLM_WORKBENCH_ENV_DIR!, 'vulkan.lock.json'), 'utf8'));
    assert.equal(lock.llamaCpp.build.accelerator, 'vulkan');
    assert.match(lock.llamaCpp.build.toolchain, /^vulkan-(system-)?headers-1\.\d+\.\d+$/);
  });
});

describe('accelerator.kind: vulkan in a podman container, on the lavapipe of the image\'s own Mesa', () => {
  const world = newWorld({ CONTAINERS_CONF });
  const profile = `extends: default\nruntime: container\ncontainer:\n  engine: podman\n  image: llm-workbench-test\n  base: ${TEST_BASE_IMAGE}\naccelerator:\n  kind: vulkan\njupyter:\n  enabled: false\n`;
  let served: Awaited<ReturnType<typeof make>>;
  before(async () => {
    await ensureBaseImage();
    worldProfiles(world, { 'vulkan-image': profile });
    // The model, then the server step alone: it builds the Vulkan image (trixie's headers fetched
    // in its build stage) and reads the server's loading report from the container's log.
    const model = await make(world, 'model', { PROFILE: 'vulkan-image' });
    assert.equal(model.exitCode, 0, model.all);
    served = await make(world, 'server', { PROFILE: 'vulkan-image' });
  });
  after(async () => {
    await make(world, 'down', { PROFILE: 'vulkan-image' });
  });

  it('builds the Vulkan variant of the llama-server image and serves every layer on the device the container has', async () => {
    assert.equal(served.exitCode, 0, served.all);
    assert.match(served.stdout, /^40-model-server\s+created\s+[\d.]+s\s+.*podman container llm-workbench-vulkan-image\) on Vulkan0 \(llvmpipe[^)]*\)\): 31\/31 layers offloaded$/m);
    const lock = JSON.parse(readFileSync(join(world.env.LLM_WORKBENCH_ENV_DIR!, 'vulkan-image.lock.json'), 'utf8'));
    assert.deepEqual([lock.image.accelerator, lock.image.toolchain], ['vulkan', 'vulkan-image-headers-1.4.309']);
    const status = await make(world, 'status', { PROFILE: 'vulkan-image' });
    assert.match(status.stdout, /^model-server: on Vulkan0 \(llvmpipe .*\): 31\/31 layers offloaded$/m);
    // The image holds the Vulkan loader and Mesa, and the server answers from that device.
    const icd = await podman(['exec', 'llm-workbench-vulkan-image', 'sh', '-c', 'ls /usr/share/vulkan/icd.d/']);
    assert.match(icd.stdout, /lvp_icd/);
    const answer = await fetch(`http://127.0.0.1:${world.ports.server}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Say hi.' }], max_tokens: 4 }),
    });
    assert.equal(answer.status, 200, await answer.clone().text());
    const body = (await answer.json()) as { choices: { message: { content: string } }[] };
    assert.ok(body.choices[0]!.message.content.length > 0);
  });
});

describe('a GPU asked for that this machine does not have', () => {
  it('stops before building, naming what is missing, and auto serves on the CPU saying why', async () => {
    const world = newWorld();
    worldProfiles(world, { cuda: 'extends: default\naccelerator:\n  kind: cuda\n' });
    const cuda = await make(world, 'provision', { PROFILE: 'cuda' });
    assert.notEqual(cuda.exitCode, 0);
    assert.match(cuda.stdout + cuda.stderr, /fail\s+accelerator\s+cuda asked for: no NVIDIA device \(no \/dev\/nvidia0 on Linux, no \/dev\/dxg on WSL 2\)/);
    assert.doesNotMatch(cuda.stdout, /^15-server-build/m, 'nothing is built');
    const alone = await make(world, 'server-build', { PROFILE: 'cuda' });
    assert.notEqual(alone.exitCode, 0);
    assert.match(alone.stderr, /asks for cuda \(accelerator\.kind\), and no NVIDIA device/);
    const doctor = await make(world, 'doctor');
    assert.match(doctor.stdout, /ok\s+accelerator\s+cpu on CPU: auto: no CUDA: no NVIDIA device .*no Vulkan: only CPU Vulkan devices \(llvmpipe/);
  });
});
