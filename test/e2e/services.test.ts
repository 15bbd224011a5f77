/**
 * The stack as systemd user units, for real: a Debian machine booted with systemd-nspawn (process 1
 * is systemd, this host's network), the test's folders bound at their own paths. Inside it, as
 * its user (root, with lingering), `make service-install`; then the machine is powered off and
 * booted again, and the model server and JupyterLab answer without anyone running make; they do
 * again after a kill -9 and a systemctl --user restart; `make service-remove` leaves nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, TEST_CACHE_ROOT } from '../helpers.ts';
import { systemdMachine, type Machine } from './nspawn.ts';
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

describe('make service-install: systemd user units that bring the stack back at boot and after a crash', () => {
  const world = newWorld();
  let machine: Machine;
  const unitDir = '/root/.config/systemd/user';
  const serverUrl = `http://127.0.0.1:${world.ports.server}`;
  const jupyterUrl = `http://127.0.0.1:${world.ports.jupyter}`;
  const inside = (command: string) => machine.run(`cd ${REPO_ROOT} && ${command}`, { ...world.env, PATH: `${world.env.PATH}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, HOME: '/root', USER: 'root' });

  before(async () => {
    // What the units run is made on the host first (the build, the env, the model), as a provision would.
    worldProfiles(world, { svc: `extends: default\n` });
    const ready = await make(world, 'server-build python-env model', { PROFILE: 'svc' });
    assert.equal(ready.exitCode, 0, ready.all);
    machine = await systemdMachine([
      { path: REPO_ROOT },
      { path: world.home },
      { path: world.env.LLM_WORKBENCH_DATA_DIR! },
      { path: TEST_CACHE_ROOT },
      { path: '/root/.pyenv', readOnly: true },
      { path: '/usr/bin/node', at: '/usr/local/bin/node', readOnly: true },
      { path: '/usr/lib/node_modules', readOnly: true },
    ].filter((b) => existsSync(b.path)));
    await machine.boot();
  });

  after(async () => {
    await machine?.poweroff();
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
});
