/**
 * The stack as systemd user units, for real: a Debian machine booted with systemd-nspawn (process 1
 * is systemd, this host's network), the test's folders bound at their own paths. Inside it, as
 * its user (root, with lingering), `make service-install`; then the machine is powered off and
 * booted again, and the model server and JupyterLab answer without anyone running make; they do
 * again after a kill -9 and a systemctl --user restart; `make service-remove` leaves nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, TEST_CACHE_ROOT } from '../helpers.ts';
import { imageTags } from '../../scripts/lib/runtime/image.ts';
import { planFor } from '../../scripts/lib/profile/index.ts';
import { systemdMachine, type Machine } from './nspawn.ts';
import { CONTAINER_TEST_PORTS, DOCKER_HOST, docker, ensureDockerBaseImage, ensureImageInDocker, ensureDockerDaemon, stopDockerDaemon, testContainerProfile } from './podman.ts';
import { make, newWorld, worldProfiles } from './support.ts';

/** Polls until the URL answers 200 (or the time is up): no make runs meanwhile. */
async function answers(url: string, seconds: number, headers: Record<string, string> = {}): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const status = await fetch(url, { headers, signal: AbortSignal.timeout(3000) }).then((r) => r.status).catch(() => 0);
    if (status === 200) return true;
    await sleep(500);
  }
  return false;
}

/** The container tests' llama_cpp.server image under docker, without JupyterLab (the native units prove it). */
const dockProfile = testContainerProfile().replace('engine: podman', 'engine: docker').replace('jupyter:\n', 'jupyter:\n  enabled: false\n');


describe('make service-install: systemd user units that bring the stack back at boot and after a crash', () => {
  const world = newWorld();
  let machine: Machine;
  const unitDir = '/root/.config/systemd/user';
  const serverUrl = `http://127.0.0.1:${world.ports.server}`;
  const jupyterUrl = `http://127.0.0.1:${world.ports.jupyter}`;
  const inside = (command: string) => machine.run(`cd ${REPO_ROOT} && ${command}`, { ...world.env, PATH: `${world.env.PATH}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, HOME: '/root', USER: 'root' });

  before(async () => {
    // What the units run is made on the host first (the build, the env, the model), as a provision would.
    worldProfiles(world, { svc: `extends: default\n`, dock: dockProfile });
    const ready = await make(world, 'server-build python-env model', { PROFILE: 'svc' });
    assert.equal(ready.exitCode, 0, ready.all);
    // The container profile's image in the tests' Docker daemon (the one the container tests built with podman).
    await ensureDockerDaemon();
    await ensureDockerBaseImage();
    const tag = imageTags(planFor('dock', world.env)).byHash;
    await ensureImageInDocker(tag);
    machine = await systemdMachine([
      { path: REPO_ROOT },
      { path: world.home },
      { path: world.env.LLM_WORKBENCH_DATA_DIR! },
      { path: TEST_CACHE_ROOT },
      { path: '/root/.pyenv', readOnly: true },
      { path: '/usr/bin/node', at: '/usr/local/bin/node', readOnly: true },
      { path: '/usr/lib/node_modules', readOnly: true },
      // The tests' Docker daemon, reached from inside through its socket with Debian's client.
      { path: DOCKER_HOST.replace(/^unix:\/\//, '').replace(/\/docker\.sock$/, '') },
      { path: '/usr/bin/docker', readOnly: true },
    ].filter((b) => existsSync(b.path)));
    await machine.boot();
  });

  after(async () => {
    await machine?.poweroff();
    await docker(['rm', '--force', 'llm-workbench-dock']);
    await stopDockerDaemon();
  });

  it('installs the units, and the services answer after a reboot, a kill -9 and a restart, with nobody running make', async () => {
    const installed = await inside('make service-install PROFILE=svc');
    assert.equal(installed.exitCode, 0, installed.all);
    assert.match(installed.all, /^40-model-server\s+(created|replaced)\s/m);
    assert.match(installed.all, /systemd runs profile svc now: llm-workbench-svc-model-server\.service, llm-workbench-svc-jupyterlab\.service/);
    assert.deepEqual(readdirSync(join(machine.tree, unitDir)).filter((f) => f.startsWith('llm-workbench')).sort(), ['llm-workbench-svc-jupyterlab.service', 'llm-workbench-svc-model-server.service']);
    assert.ok(existsSync(join(machine.tree, '/var/lib/systemd/linger/root')), 'lingering is on: the units start at boot');
    assert.ok(await answers(`${serverUrl}/health`, 5));

    const status = await inside('make service-status PROFILE=svc');
    assert.equal(status.exitCode, 0, status.all);
    assert.match(status.stdout, /^llm-workbench-svc-model-server\.service\s+enabled\s+active \(running\)\s+\d+\s+0$/m);
    assert.match(status.stdout, /lingering on \(they start at boot\)/);
    const makeStatus = await inside('make status PROFILE=svc');
    assert.match(makeStatus.stdout, /^run by systemd: llm-workbench-svc-model-server\.service, llm-workbench-svc-jupyterlab\.service/m);
    assert.match(makeStatus.stdout, /^model-server\s+\d+\s+\S+\s+yes\s+yes$/m);

    // A reboot: nothing of ours runs make afterwards.
    await machine.poweroff();
    assert.equal(await fetch(`${serverUrl}/health`).then(() => 'up', () => 'down'), 'down');
    await machine.boot();
    assert.ok(await answers(`${serverUrl}/health`, 120), 'the model server answers after the boot');
    assert.ok(await answers(`${jupyterUrl}/api`, 120), 'JupyterLab answers after the boot');

    // A crash: systemd starts it again.
    const pid = Number((await machine.run('systemctl --user show -p MainPID --value llm-workbench-svc-model-server.service')).stdout.trim());
    assert.ok(pid > 0);
    await machine.run(`kill -9 ${pid}`);
    await sleep(500);
    assert.ok(await answers(`${serverUrl}/health`, 60), 'the model server answers again after kill -9');
    const after = Number((await machine.run('systemctl --user show -p MainPID --value llm-workbench-svc-model-server.service')).stdout.trim());
    assert.ok(after > 0 && after !== pid, `a new main process (${pid} -> ${after})`);
    const restarted = await machine.run('systemctl --user restart llm-workbench-svc-model-server.service');
    assert.equal(restarted.exitCode, 0, restarted.all);
    assert.ok(await answers(`${serverUrl}/health`, 60), 'the model server answers after systemctl --user restart');
    const again = await inside('make status PROFILE=svc');
    assert.equal(again.exitCode, 0, again.all);
    assert.match(again.stdout, /^model-server\s+\d+\s+\S+\s+yes\s+yes$/m);

    // make down stops the units (they stay enabled); make service-remove removes them.
    const down = await inside('make down PROFILE=svc');
    assert.equal(down.exitCode, 0, down.all);
    assert.equal(await fetch(`${serverUrl}/health`).then(() => 'up', () => 'down'), 'down');
    const removed = await inside('make service-remove PROFILE=svc');
    assert.equal(removed.exitCode, 0, removed.all);
    assert.deepEqual(readdirSync(join(machine.tree, unitDir)).filter((f) => f.includes('llm-workbench')), []);
    assert.ok(!existsSync(join(machine.tree, '/var/lib/systemd/linger/root')), 'lingering off again');
    assert.deepEqual(readdirSync(join(world.state, 'svc')).filter((f) => /systemd/.test(f)), []);
    const none = await machine.run('systemctl --user list-units --all --no-legend "llm-workbench-*"');
    assert.equal(none.stdout.trim(), '');
  });

  it("runs a container profile's server as a unit (docker): back after a kill -9 of the client and a reboot, the engine's settings in its 0600 env file, nothing left after make down and service-remove", async () => {
    const unit = 'llm-workbench-dock-model-server.service';
    const url = `http://127.0.0.1:${CONTAINER_TEST_PORTS.server}/v1/models`;
    const dock = (command: string) => machine.run(`cd ${REPO_ROOT} && ${command}`, { ...world.env, PATH: `${world.env.PATH}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, HOME: '/root', USER: 'root', DOCKER_HOST, LLM_WORKBENCH_BUILD_NETWORK: 'host' });
    const installed = await dock('make service-install PROFILE=dock');
    assert.equal(installed.exitCode, 0, installed.all);
    assert.match(installed.all, /^40-model-server\s+(created|replaced)\s.*docker container llm-workbench-dock/m);
    const text = readFileSync(join(machine.tree, unitDir, unit), 'utf8');
    assert.match(text, /^ExecStartPre=-"\/usr\/bin\/docker" "rm" "--force" "llm-workbench-dock"$/m);
    assert.match(text, /^ExecStart="\/usr\/bin\/docker" "run" "--rm" "--name" "llm-workbench-dock" /m);
    assert.match(text, /^ExecStop="\/usr\/bin\/docker" "stop" "--time" "20" "llm-workbench-dock"$/m);
    const envFile = join(world.state, 'dock', 'model-server.systemd.env');
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    assert.match(readFileSync(envFile, 'utf8'), new RegExp(`^DOCKER_HOST="${DOCKER_HOST}"$`, 'm'));
    assert.ok(await answers(url, 5));
    assert.equal((await docker(['container', 'inspect', '--format', '{{.State.Running}}', 'llm-workbench-dock'])).stdout.trim(), 'true');

    // The client systemd supervises dies: the unit clears the container and runs it again.
    const mainPid = async () => Number((await machine.run(`systemctl --user show -p MainPID --value ${unit}`)).stdout.trim());
    const containerId = async () => (await docker(['container', 'inspect', '--format', '{{.Id}}', 'llm-workbench-dock'])).stdout.trim();
    const pid = await mainPid();
    const firstContainer = await containerId();
    assert.ok(pid > 0 && firstContainer);
    await machine.run(`kill -9 ${pid}`);
    const deadline = Date.now() + 90_000;
    let restarted = false;
    while (!restarted && Date.now() < deadline) {
      const now = await mainPid();
      const id = await containerId();
      restarted = now > 0 && now !== pid && id !== '' && id !== firstContainer && (await answers(url, 1));
      if (!restarted) await sleep(500);
    }
    assert.ok(restarted, 'after kill -9 of its client the unit runs a new client and a new container, which answers');

    // A reboot: the unit stops the container on the way down (--rm leaves none) and runs it at boot.
    await machine.poweroff();
    assert.notEqual((await docker(['container', 'inspect', 'llm-workbench-dock'])).exitCode, 0, 'no container left while the machine is off');
    await machine.boot();
    assert.ok(await answers(url, 120), 'the container answers after the boot');
    const status = await dock('make status PROFILE=dock');
    assert.match(status.stdout, /^run by systemd: llm-workbench-dock-model-server\.service/m);
    assert.match(status.stdout, /^model-server\s+docker:llm-workbench-dock\s+\S+\s+yes\s+yes$/m);

    // A changed profile (an API key now): the unit is rewritten and restarted with it; the old
    // container is not brought back by systemd while the engine removes it.
    worldProfiles(world, { dock: dockProfile.replace('server:\n', 'server:\n  api_key: generate\n') });
    const keyed = await dock('make server PROFILE=dock');
    assert.equal(keyed.exitCode, 0, keyed.all);
    assert.match(keyed.stdout, /^40-model-server\s+replaced\s/m);
    const key = readFileSync(join(world.state, 'dock', 'api-key'), 'utf8').trim();
    assert.match(readFileSync(envFile, 'utf8'), new RegExp(`^API_KEY="${key}"$`, 'm'));
    assert.doesNotMatch(readFileSync(join(machine.tree, unitDir, unit), 'utf8'), new RegExp(key), 'the key is not in the unit');
    assert.equal(await fetch(url).then((r) => r.status), 401, 'the unit runs the keyed container');
    assert.ok(await answers(url, 30, { Authorization: `Bearer ${key}` }));
    assert.equal((await docker(['ps', '--all', '--quiet', '--filter', 'name=llm-workbench-dock'])).stdout.trim().split('\n').length, 1, 'one container');

    const down = await dock('make down PROFILE=dock');
    assert.equal(down.exitCode, 0, down.all);
    assert.notEqual((await docker(['container', 'inspect', 'llm-workbench-dock'])).exitCode, 0, 'make down left no container');
    assert.match((await machine.run(`systemctl --user is-active ${unit}`)).stdout, /inactive/);
    const removed = await dock('make service-remove PROFILE=dock');
    assert.equal(removed.exitCode, 0, removed.all);
    assert.deepEqual(readdirSync(join(machine.tree, unitDir)).filter((f) => f.includes('llm-workbench')), []);
  });
});
