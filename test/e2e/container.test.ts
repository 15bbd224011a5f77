/**
 * The guide's own route for real: podman builds the openblas_simple-lineage image FROM a local
 * Debian base, runs the server with the small model, the smoke checks pass against it, a second
 * provision rebuilds nothing, the compose and kube files run, and make down leaves no container.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { which } from '../../scripts/lib/process/run.ts';
import { planFor } from '../../scripts/lib/profile/index.ts';
import { imageTags } from '../../scripts/lib/runtime/image.ts';
import { CONTAINER_TEST_PORTS, CONTAINERS_CONF, DOCKER_HOST, DOCKER_PATH, ensureBaseImage, testContainerProfile, docker, ensureDockerBaseImage, ensureDockerDaemon, ensureImageInDocker, podman, stopDockerDaemon, TEST_BASE_IMAGE } from './podman.ts';
import { readRecord } from '../../scripts/lib/process/background.ts';
import { isAlive, make, newWorld, stepOutcomes, worldProfiles, type World } from './support.ts';

const { server: SERVER_PORT, jupyter: JUPYTER_PORT } = CONTAINER_TEST_PORTS;

/** The guide's shape (llama_cpp.server in a container, OpenBLAS) on the small default model. */
function containerProfile(extra = ''): string {
  return testContainerProfile(extra);
}

function containerWorld(files: Record<string, string>, env: Record<string, string> = {}): World {
  const world = newWorld({ CONTAINERS_CONF, ...env });
  worldProfiles(world, files);
  return world;
}

/** podman 4.3 ignores --format '{{json .}}' for inspect: parse the JSON array it prints. */
async function inspectContainer(name: string) {
  const result = await podman(['container', 'inspect', name]);
  assert.equal(result.exitCode, 0, result.all);
  return JSON.parse(result.stdout)[0];
}

async function containerExists(name: string): Promise<boolean> {
  return (await podman(['container', 'exists', name])).exitCode === 0;
}

before(async () => {
  await ensureBaseImage();
});

describe('make provision with runtime: container (podman)', () => {
  const world = containerWorld({ ctr: containerProfile() });
  let first: Awaited<ReturnType<typeof make>>;

  before(async () => {
    first = await make(world, 'provision', { PROFILE: 'ctr' });
  });
  after(async () => {
    await make(world, 'down', { PROFILE: 'ctr' });
  });

  it('builds the image from the rendered Dockerfile, runs the server in it, and passes every smoke check', () => {
    assert.equal(first.exitCode, 0, first.all);
    // Nothing of llama.cpp compiled on the host: the image compiles it, the host env has no llama-cpp-python.
    assert.match(first.stdout, /^15-server-build\s+skipped\s+[\d.]+s\s+runtime is container: the image compiles it$/m);
    assert.match(first.stdout, /^20-python-env\s+\S+\s+[\d.]+s\s+uv \S+ \(python [\d.]+\)$/m);
    const outcomes = stepOutcomes(first.stdout);
    assert.equal(outcomes.get('40-model-server'), 'created', first.stdout);
    assert.match(first.stdout, /^35-image\s+(created|replaced|unchanged)\s+\d+\.\d+s\s+localhost\/llm-workbench-test:[0-9a-f]{12} \(\d+ MB, podman\)/m);
    assert.match(first.stdout, /^40-model-server\s+created.*podman container llm-workbench-ctr/m);
    for (const check of ['models', 'completions', 'chat', 'embeddings', 'streaming', 'errors', 'jupyterlab']) {
      assert.match(first.stdout, new RegExp(`^\\s+pass\\s+${check}\\s`, 'm'), `check ${check} did not pass:\n${first.stdout}`);
    }
  });

  it('runs the container as the guide did: loopback port, read-only model, USE_MLOCK=0, SYS_RESOURCE, a restart policy', async () => {
    const info = await inspectContainer('llm-workbench-ctr');
    const binding = info.HostConfig.PortBindings[`${SERVER_PORT}/tcp`][0];
    assert.deepEqual([binding.HostIp, binding.HostPort], ['127.0.0.1', String(SERVER_PORT)]);
    const mount = info.Mounts.find((m: { Destination: string }) => m.Destination === '/models');
    assert.equal(mount.RW, false);
    assert.ok(info.Config.Env.includes('USE_MLOCK=0'));
    // Asked for as in the guide; this sandbox's bounding set may not grant it, so read the request.
    const created: string[] = info.Config.CreateCommand;
    assert.equal(created[created.indexOf('--cap-add') + 1], 'SYS_RESOURCE');
    assert.ok(!created.some((a) => a.startsWith('API_KEY=')), 'no secret on the command line');
    assert.equal(info.HostConfig.RestartPolicy.Name, 'unless-stopped');
    assert.equal(info.Config.User, 'llm', 'the server does not run as root');
  });

  it('changes nothing on a second provision: no rebuild, the same container', async () => {
    const before_ = (await inspectContainer('llm-workbench-ctr')).Id;
    const second = await make(world, 'provision', { PROFILE: 'ctr' });
    assert.equal(second.exitCode, 0, second.all);
    for (const [step, outcome] of stepOutcomes(second.stdout)) assert.equal(outcome, step === '15-server-build' ? 'skipped' : 'unchanged', `${step} was ${outcome}:\n${second.stdout}`);
    assert.doesNotMatch(second.stdout, /building localhost/);
    assert.equal((await inspectContainer('llm-workbench-ctr')).Id, before_);
  });

  it('builds what the profile says now when make image runs alone after an edit (no make render first)', async () => {
    const profile = join(world.envDir, 'ctr.yml');
    const original = readFileSync(profile, 'utf8');
    try {
      writeFileSync(profile, containerProfile('model:\n  n_ctx: 1536\n'));
      const image = await make(world, 'image', { PROFILE: 'ctr' });
      assert.equal(image.exitCode, 0, image.all);
      // replaced, or unchanged where an image of exactly this content was built before (its tag is
      // a hash of what builds it): either way the profile's tag now names it.
      assert.match(image.stdout, /^35-image\s+(replaced|unchanged)/m, image.stdout);
      const inspected = await podman(['image', 'inspect', 'localhost/llm-workbench-test:ctr']);
      assert.equal(inspected.exitCode, 0, inspected.all);
      const cmd: string[] = JSON.parse(inspected.stdout)[0].Config.Cmd;
      assert.equal(cmd[cmd.indexOf('--n_ctx') + 1], '1536', `the image runs ${cmd.join(' ')}`);
      assert.match(readFileSync(join(world.env.LLM_WORKBENCH_BUILD_DIR!, 'ctr', 'Dockerfile'), 'utf8'), /"--n_ctx","1536"/);
    } finally {
      writeFileSync(profile, original);
    }
  });

  it('replaces the container when the config changes, and stops it with make down', async () => {
    const changed = containerWorld({ ctr: containerProfile('model:\n  n_ctx: 1024\n') }, { LLM_WORKBENCH_STATE_DIR: world.state, HOME: world.home });
    const server = await make(changed, 'render server', { PROFILE: 'ctr' });
    assert.equal(server.exitCode, 0, server.all);
    assert.match(server.stdout, /^40-model-server\s+replaced/m);
    const down = await make(world, 'down', { PROFILE: 'ctr' });
    assert.equal(down.exitCode, 0, down.all);
    assert.match(down.stdout, /model-server/);
    assert.equal(await containerExists('llm-workbench-ctr'), false);
  });
});

/**
 * A profile whose runtime changes: the same profile (and port) first native, then container, then
 * native again. Each switch stops the other runtime's server and says so.
 */
describe('switching a profile between runtime: native and runtime: container', () => {
  // Natively without OpenBLAS: the host's cached CPU wheel, no second compile for this test.
  const native = containerProfile().replace('runtime: container', 'runtime: native').replace('llama_cpp:\n  blas: openblas\n', '');
  const world = containerWorld({ ctr: native });
  const profile = join(world.envDir, 'ctr.yml');
  after(async () => {
    await make(world, 'down', { PROFILE: 'ctr' });
  });

  it('stops the native server before the container starts, and the container before the native one', async () => {
    const up = await make(world, 'python-env model server', { PROFILE: 'ctr' });
    assert.equal(up.exitCode, 0, up.all);
    const record = readRecord(join(world.state, 'ctr', 'server.json'))!;

    writeFileSync(profile, containerProfile());
    const status = await make(world, 'status', { PROFILE: 'ctr' });
    assert.match(status.stdout, /the native server \(pid \d+\) of runtime native \(the profile's former runtime\) still runs/);
    const toContainer = await make(world, 'provision', { PROFILE: 'ctr', CHECKS: 'guide', SMOKE_MAX_TOKENS: '8' });
    assert.equal(toContainer.exitCode, 0, toContainer.all);
    assert.match(toContainer.stdout, /^00-preflight\s+unchanged/m);
    assert.match(toContainer.stdout, new RegExp(`stopped the native server \\(pid ${record.pid}\\): runtime is container now`));
    assert.match(toContainer.stdout, /^40-model-server\s+replaced.*podman container llm-workbench-ctr/m);
    assert.equal(isAlive(record.pid), false, 'the native server is gone');
    assert.equal(await containerExists('llm-workbench-ctr'), true);

    writeFileSync(profile, native);
    const toNative = await make(world, 'server', { PROFILE: 'ctr' });
    assert.equal(toNative.exitCode, 0, toNative.all);
    assert.match(toNative.stdout, /stopped the podman container llm-workbench-ctr: runtime is native now/);
    assert.match(toNative.stdout, /^40-model-server\s+replaced/m);
    assert.equal(await containerExists('llm-workbench-ctr'), false);
    assert.equal((await fetch(`http://127.0.0.1:${SERVER_PORT}/v1/models`)).status, 200);
  });
});

describe('make provision with server.backend: llama-server in a container (podman)', () => {
  // llama.cpp's own server in an image without Python, with a generated key (LLAMA_API_KEY).
  const world = containerWorld({
    lsc: `extends: default
server:
  backend: llama-server
  port: 18480
  api_key: generate
jupyter:
  port: 18992
runtime: container
container:
  engine: podman
  image: llm-workbench-test-ls
  base: ${TEST_BASE_IMAGE}
`,
  });
  let first: Awaited<ReturnType<typeof make>>;

  before(async () => {
    first = await make(world, 'provision', { PROFILE: 'lsc' });
  });
  after(async () => {
    await make(world, 'down', { PROFILE: 'lsc' });
  });

  it('builds the llama-server image, runs it, and passes every smoke check and the guide notebook', () => {
    assert.equal(first.exitCode, 0, first.all);
    assert.match(first.stdout, /^35-image\s+(created|replaced|unchanged)\s+\d+\.\d+s\s+localhost\/llm-workbench-test-ls:[0-9a-f]{12} \(\d+ MB, podman\)/m);
    assert.match(first.stdout, /^40-model-server\s+created.*podman container llm-workbench-lsc/m);
    for (const check of ['models', 'completions', 'chat', 'embeddings', 'streaming', 'errors', 'jupyterlab', 'notebook']) {
      assert.match(first.stdout, new RegExp(`^\\s+pass\\s+${check}\\s`, 'm'), `check ${check} did not pass:\n${first.stdout}`);
    }
  });

  it('serves from an image without Python, as a user, the key only in the environment and required', async () => {
    const info = await inspectContainer('llm-workbench-lsc');
    assert.equal(info.Config.User, 'llm');
    assert.equal(info.Config.Cmd[0], '/usr/local/bin/llama-server');
    const created: string[] = info.Config.CreateCommand;
    assert.ok(created.includes('LLAMA_API_KEY') && !created.some((a) => a.startsWith('LLAMA_API_KEY=')), `the key is passed by name only: ${created.join(' ')}`);
    const python = await podman(['run', '--rm', '--entrypoint', '/bin/sh', info.Image, '-c', 'command -v python3 || ls /usr/bin/python3*']);
    assert.notEqual(python.exitCode, 0, `the server image has a Python: ${python.stdout}`);
    const denied = await fetch('http://127.0.0.1:18480/v1/models');
    assert.equal(denied.status, 401, 'a request without the key is refused');
  });

  it('changes nothing on a second provision, and make down closes its port', async () => {
    const second = await make(world, 'provision', { PROFILE: 'lsc' });
    assert.equal(second.exitCode, 0, second.all);
    for (const [step, outcome] of stepOutcomes(second.stdout)) assert.equal(outcome, step === '15-server-build' ? 'skipped' : 'unchanged', `${step} was ${outcome}:\n${second.stdout}`);
    const down = await make(world, 'down', { PROFILE: 'lsc' });
    assert.equal(down.exitCode, 0, down.all);
    assert.equal(await containerExists('llm-workbench-lsc'), false);
    await assert.rejects(fetch('http://127.0.0.1:18480/health'));
  });
});

describe('the deployment files of a container profile', () => {
  const world = containerWorld({ ctr: containerProfile() });

  before(async () => {
    const ready = await make(world, 'render python-env model image', { PROFILE: 'ctr' });
    assert.equal(ready.exitCode, 0, ready.all);
  });

  it('runs kube.yaml under podman kube play and answers /v1/models', async () => {
    try {
      const up = await make(world, 'kube-up', { PROFILE: 'ctr' });
      assert.equal(up.exitCode, 0, up.all);
      assert.match(up.stdout, /^kube-up\s+created/m);
      const models = await fetch(`http://127.0.0.1:${SERVER_PORT}/v1/models`).then((r) => r.json());
      assert.equal(models.data[0].id, 'smollm2-135m-instruct');
    } finally {
      const down = await make(world, 'kube-down', { PROFILE: 'ctr' });
      assert.equal(down.exitCode, 0, down.all);
      assert.match(down.stdout, /^kube-down\s+removed/m);
    }
    const pods = await podman(['pod', 'ps', '--format', '{{.Name}}']);
    assert.doesNotMatch(pods.stdout, /llm-workbench-ctr/, 'the pod is gone');
  });

  it('runs kube.yaml with an API key: the Secret it names is created from the key, the server requires it', async () => {
    const keyedProfile = containerProfile().replace(`  port: ${SERVER_PORT}\n`, `  port: ${SERVER_PORT}\n  api_key: generate\n`);
    assert.match(keyedProfile, /api_key: generate/);
    const keyed = containerWorld({ ctr: keyedProfile }, { LLM_WORKBENCH_STATE_DIR: world.state, HOME: world.home });
    try {
      const up = await make(keyed, 'render kube-up', { PROFILE: 'ctr' });
      assert.equal(up.exitCode, 0, up.all);
      const key = readFileSync(join(world.state, 'ctr', 'api-key'), 'utf8').trim();
      const kube = readFileSync(join(keyed.env.LLM_WORKBENCH_BUILD_DIR!, 'ctr', 'kube.yaml'), 'utf8');
      assert.ok(!kube.includes(key), 'the key is not in kube.yaml');
      assert.equal(statSync(join(world.state, 'ctr', 'kube-secret.json')).mode & 0o777, 0o600);
      assert.equal((await fetch(`http://127.0.0.1:${SERVER_PORT}/v1/models`)).status, 401);
      assert.equal((await fetch(`http://127.0.0.1:${SERVER_PORT}/v1/models`, { headers: { Authorization: `Bearer ${key}` } })).status, 200);
    } finally {
      const down = await make(keyed, 'kube-down', { PROFILE: 'ctr' });
      assert.equal(down.exitCode, 0, down.all);
    }
    const secrets = await podman(['secret', 'ls', '--format', '{{.Name}}']);
    assert.doesNotMatch(secrets.stdout, /llm-workbench-ctr-api-key/, 'the Secret is removed with the pod');
  });

  it('runs compose.yaml under podman-compose: the model server and JupyterLab answer; a second compose-up changes nothing', async () => {
    try {
      const up = await make(world, 'compose-up', { PROFILE: 'ctr' });
      assert.equal(up.exitCode, 0, up.all);
      assert.match(up.stdout, /^compose-up\s+created/m);
      // The JupyterLab image is tagged by the build context's hash: new packages, a new image.
      const hashTag = /localhost\/llm-workbench-test:([0-9a-f]{12})/.exec((await make(world, 'image', { PROFILE: 'ctr' })).stdout)?.[1];
      const ids = await Promise.all([`localhost/llm-workbench-test-jupyter:${hashTag}`, 'localhost/llm-workbench-test-jupyter:ctr'].map((tag) => podman(['image', 'inspect', '--format', '{{.Id}}', tag])));
      assert.equal(ids[0]!.exitCode, 0, ids[0]!.all);
      assert.equal(ids[0]!.stdout, ids[1]!.stdout, 'the profile tag names the image of this build context');
      const again = await make(world, 'compose-up', { PROFILE: 'ctr' });
      assert.equal(again.exitCode, 0, again.all);
      assert.match(again.stdout, /^compose-up\s+unchanged/m);
      const models = await fetch(`http://127.0.0.1:${SERVER_PORT}/v1/models`).then((r) => r.json());
      assert.equal(models.data[0].id, 'smollm2-135m-instruct');
      const { readFileSync } = await import('node:fs');
      const token = readFileSync(join(world.state, 'ctr', 'jupyter-token'), 'utf8').trim();
      const status = await fetch(`http://127.0.0.1:${JUPYTER_PORT}/api/status`, { headers: { Authorization: `token ${token}` } });
      assert.equal(status.status, 200);
      const refused = await fetch(`http://127.0.0.1:${JUPYTER_PORT}/api/status`);
      assert.equal(refused.status, 403);
    } finally {
      const down = await make(world, 'compose-down', { PROFILE: 'ctr' });
      assert.equal(down.exitCode, 0, down.all);
      assert.match(down.stdout, /^compose-down\s+removed/m);
    }
    assert.equal(await containerExists('llm-workbench-ctr'), false);
  });
});

/**
 * The guide's own engine: Debian's Docker daemon (started by the tests), its 20.10 client, the
 * same Debian base imported into it. The image is the one podman built for the same Dockerfile,
 * exported and loaded (its tag is a hash of what builds it), so llama.cpp is compiled once per
 * image, not once per engine; docker's build argv is unit-tested (engine.test.ts).
 * LLM_WORKBENCH_BUILD_NETWORK=host: with --iptables=false the default bridge has no DNS here.
 */
describe('make provision with container.engine: docker (the Docker daemon)', () => {
  // The podman profile's ports and image: the same Dockerfile, so the same tag (its services are down by now).
  const profile = containerProfile().replace('engine: podman', 'engine: docker');
  let world: World;
  let first: Awaited<ReturnType<typeof make>>;
  let tags: { byHash: string; byProfile: string };
  
  before(async () => {
    await ensureDockerDaemon();
    await ensureDockerBaseImage();
    world = containerWorld({ dock: profile }, { PATH: DOCKER_PATH, DOCKER_HOST, LLM_WORKBENCH_BUILD_NETWORK: 'host' });
    tags = imageTags(planFor('dock', world.env));
    await ensureImageInDocker(tags.byHash);
    first = await make(world, 'provision', { PROFILE: 'dock' });
  });
  after(async () => {
    await make(world, 'down', { PROFILE: 'dock' });
    // The daemon is the tests' own: it does not outlive them.
    await stopDockerDaemon();
  });

  it('runs the server container under docker from the image podman built, and passes every smoke check', () => {
    assert.equal(first.exitCode, 0, first.all);
    assert.match(first.stdout, new RegExp(`^35-image\\s+unchanged\\s+[\\d.]+s\\s+${tags.byHash.replace(/[.]/g, '\\.')} \\(\\d+ MB, docker\\)`, 'm'));
    assert.doesNotMatch(first.stdout, /building localhost/);
    assert.match(first.stdout, /^40-model-server\s+created.*docker container llm-workbench-dock/m);
    for (const check of ['models', 'completions', 'chat', 'embeddings', 'streaming', 'errors', 'jupyterlab', 'notebook']) {
      assert.match(first.stdout, new RegExp(`^\\s+pass\\s+${check}\\s`, 'm'), `check ${check} did not pass:\n${first.stdout}`);
    }
  });

  it('changes nothing on a second provision', async () => {
    const second = await make(world, 'provision', { PROFILE: 'dock' });
    assert.equal(second.exitCode, 0, second.all);
    for (const [step, outcome] of stepOutcomes(second.stdout)) assert.equal(outcome, step === '15-server-build' ? 'skipped' : 'unchanged', `${step} was ${outcome}:\n${second.stdout}`);
  });

  it('runs compose.yaml with docker-compose 1.x (no top-level name:), then make down removes the container', async () => {
    const down = await make(world, 'down', { PROFILE: 'dock' });
    assert.equal(down.exitCode, 0, down.all);
    try {
      const up = await make(world, 'compose-up', { PROFILE: 'dock' });
      assert.equal(up.exitCode, 0, up.all);
      assert.match(up.stdout, /^compose-up\s+created\s+.*docker-compose/m);
      const models = await fetch(`http://127.0.0.1:${SERVER_PORT}/v1/models`).then((r) => r.json());
      assert.equal(models.data[0].id, 'smollm2-135m-instruct');
    } finally {
      const composeDown = await make(world, 'compose-down', { PROFILE: 'dock' });
      assert.equal(composeDown.exitCode, 0, composeDown.all);
    }
    assert.notEqual((await docker(['container', 'inspect', 'llm-workbench-dock'])).exitCode, 0, 'the container is gone');
  });
});

describe('container faults: one clear message each', () => {
  it('no engine at all: lists what was tried', async () => {
    const bin = join(newWorld().home, 'bin');
    const { mkdirSync, symlinkSync } = await import('node:fs');
    mkdirSync(bin);
    for (const tool of ['node', 'make', 'sh', 'bash', 'python3']) symlinkSync(which(tool)!, join(bin, tool));
    const world = containerWorld({ ctr: containerProfile().replace('engine: podman', 'engine: auto') }, { PATH: bin });
    const result = await make(world, 'image', { PROFILE: 'ctr' });
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /error: no container engine answers \(tried docker: not installed; podman: not installed\)/);
    assert.match(result.stderr, /hint: install Podman/);
  });

  it('an engine whose daemon is down: says so and how to start it', async () => {
    assert.ok(which('docker'), 'the docker client is on this machine (its daemon is not)');
    const world = containerWorld({ ctr: containerProfile() }, { LLM_WORKBENCH_CONTAINER_ENGINE: 'docker', DOCKER_HOST: `unix://${join(newWorld().home, 'no-daemon.sock')}` });
    const result = await make(world, 'image', { PROFILE: 'ctr' });
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /error: docker is installed but does not answer/);
    assert.match(result.stderr, /hint: start the Docker daemon/);
  });

  it('a base image that is missing and cannot be pulled: names the image and container.base', async () => {
    const world = containerWorld({ ctr: containerProfile().replace(TEST_BASE_IMAGE, 'localhost/no-such-base:1') });
    const result = await make(world, 'render image', { PROFILE: 'ctr' });
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /error: the base image localhost\/no-such-base:1 \(container\.base\) is not on this machine and cannot be pulled/);
    assert.match(result.stderr, /hint: set container\.base in .*ctr\.yml/);
  });

  it('a build that fails: shows the last lines of the build log', async () => {
    const world = containerWorld({ ctr: containerProfile('llama_cpp:\n  version: "0.3.99"\n').replace('llama_cpp:\n  blas: openblas\n', '') });
    const result = await make(world, 'render image', { PROFILE: 'ctr' });
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /error: podman build failed/);
    assert.match(result.stderr, /\| .*No matching distribution found for llama-cpp-python==0\.3\.99/);
  });

  it('a container that exits at start: shows its logs', async () => {
    // A flag the server does not know: it exits at once (a file that is not a model stops in step 30).
    const world = containerWorld({ ctr: containerProfile().replace(`  port: ${SERVER_PORT}\n`, `  port: ${SERVER_PORT}\n  extra_args: ["--no-such-flag", "1"]\n`) });
    try {
      const result = await make(world, 'render python-env model image server', { PROFILE: 'ctr' });
      assert.notEqual(result.exitCode, 0);
      assert.match(result.stderr, /error: the model server container llm-workbench-ctr exited while starting/);
      assert.match(result.stderr, /last lines of podman logs llm-workbench-ctr:\n(\s+\| .*\n)+/);
    } finally {
      await make(world, 'down', { PROFILE: 'ctr' });
    }
  });

  it('a port taken by another program: names the port', async () => {
    const world = containerWorld({ ctr: containerProfile() });
    const blocker = createTcpServer().listen(SERVER_PORT, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    try {
      const result = await make(world, 'render python-env model image server', { PROFILE: 'ctr' });
      assert.notEqual(result.exitCode, 0);
      assert.match(result.stderr, new RegExp(`error: port ${SERVER_PORT} on 127\\.0\\.0\\.1 \\(server\\.port\\) is already in use by another program`));
    } finally {
      blocker.close();
    }
  });
});
