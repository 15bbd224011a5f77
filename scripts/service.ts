#!/usr/bin/env -S npx tsx
/**
 * `make service-install | service-remove | service-status`: the profile's model server and
 * JupyterLab as systemd user units (scripts/lib/process/systemd.ts), started at boot through
 * lingering and again after a crash. Install brings the stack up under systemd (the steps that
 * start services, as provision runs them); remove stops and deletes the units and leaves nothing.
 */
import { rmSync } from 'node:fs';
import { execa } from 'execa';
import { displayPath, WorkbenchError } from './lib/errors.ts';
import { thisWsl } from './lib/machine/platform.ts';
import { planFor } from './lib/profile/index.ts';
import { readRecord } from './lib/process/background.ts';
import { initProblem, ownershipFile, readOwnership, systemctlUser, unitName, unitState, userManagerProblem, userUnitDir, type SystemdOwnership } from './lib/process/systemd.ts';
import { statePaths, ensureStateDir } from './lib/state/paths.ts';
import { withProfileLock } from './lib/state/lock.ts';
import { writeFileAtomic } from './lib/atomic-write.ts';
import { runMain, runSteps } from './lib/step.ts';
import { STEPS } from './steps.ts';
import type { Plan } from './lib/plan/index.ts';

// What builds (on the host, or the image) and what starts: each skips what the runtime does not need.
const STARTS = ['15-server-build', '20-python-env', '30-model', '35-image', '40-model-server', '50-jupyter'];

/** The profile's services and their units. */
function unitsOf(plan: Plan): Record<string, string> {
  return { 'model-server': unitName(plan.profile.name, 'model-server'), ...(plan.jupyter.enabled ? { jupyterlab: unitName(plan.profile.name, 'jupyterlab') } : {}) };
}

function userName(): string {
  return process.env.USER || process.env.LOGNAME || (process.getuid?.() === 0 ? 'root' : String(process.getuid?.()));
}

async function linger(): Promise<boolean> {
  const result = await execa('loginctl', ['show-user', userName(), '--property=Linger', '--value'], { reject: false, stdin: 'ignore' });
  return String(result.stdout).trim() === 'yes';
}

async function install(plan: Plan): Promise<void> {
  const wsl = thisWsl() !== undefined;
  const noSystemd = initProblem();
  if (noSystemd) {
    throw new WorkbenchError(
      `no systemd user services here: ${noSystemd}`,
      wsl ? 'turn systemd on in WSL: add "[boot]" and "systemd=true" to /etc/wsl.conf, run wsl.exe --shutdown in Windows, open the distro again, then make service-install' : 'a machine booted with systemd runs them; elsewhere make provision starts the stack as processes of ours',
    );
  }
  // Lingering starts the user's manager at boot, without a login: the units start with the machine.
  let lingerEnabledHere = false;
  if (!(await linger())) {
    const enabled = await execa('loginctl', ['enable-linger', userName()], { reject: false, stdin: 'ignore' });
    lingerEnabledHere = enabled.exitCode === 0;
    if (!lingerEnabledHere) console.log(`  lingering is off and could not be turned on (${String(enabled.stderr).trim()}): the units start when ${userName()} logs in, not at boot; sudo loginctl enable-linger ${userName()} turns it on`);
  }
  const problem = await userManagerProblem(15);
  if (problem) throw new WorkbenchError(`no systemd user services here: ${problem}`, 'log in through a session that starts systemd --user (or run loginctl enable-linger as that user), then try again');
  const owner: SystemdOwnership = { profile: plan.profile.name, units: unitsOf(plan), unitDir: userUnitDir(), lingerEnabledHere: lingerEnabledHere || readOwnership(plan.paths.stateDir)?.lingerEnabledHere === true };
  ensureStateDir(plan);
  writeFileAtomic(ownershipFile(plan.paths.stateDir), `${JSON.stringify(owner, null, 2)}\n`, 0o600);
  // The services as provision starts them; from now on they start as the profile's units.
  await withProfileLock(plan, 'make service-install', () => runSteps(STEPS.filter((step) => STARTS.includes(step.name)), plan, () => planFor(plan.profile.name)));
  console.log(`\nsystemd runs profile ${plan.profile.name} now: ${Object.values(owner.units).join(', ')} in ${displayPath(owner.unitDir)}`);
  console.log(`  they start at boot${(await linger()) ? '' : ' (after a login: lingering is off)'} and again after a crash; make service-status shows them; make service-remove takes them away`);
}

async function remove(plan: Plan): Promise<void> {
  const owner = readOwnership(plan.paths.stateDir);
  const units = owner?.units ?? unitsOf(plan);
  const unitDir = owner?.unitDir ?? userUnitDir();
  const reachable = (await userManagerProblem()) === undefined;
  for (const unit of Object.values(units)) {
    if (reachable) await systemctlUser(['disable', '--now', unit]);
    rmSync(`${unitDir}/${unit}`, { force: true });
  }
  for (const service of Object.keys(units)) rmSync(`${plan.paths.stateDir}/${service}.systemd.env`, { force: true });
  // The records named the units: without them the services are stopped, not ours to follow.
  for (const record of [statePaths(plan).serverRecord, statePaths(plan).jupyterRecord]) {
    if (readRecord(record)?.unit) rmSync(record, { force: true });
  }
  if (reachable) await systemctlUser(['daemon-reload']);
  if (owner?.lingerEnabledHere) await execa('loginctl', ['disable-linger', userName()], { reject: false, stdin: 'ignore' });
  rmSync(ownershipFile(plan.paths.stateDir), { force: true });
  console.log(owner ? `removed ${Object.values(units).join(', ')} (stopped and disabled)${owner.lingerEnabledHere ? '; lingering turned off again' : ''}; make provision starts the stack as processes of ours` : `profile ${plan.profile.name} had no units installed: nothing to remove`);
}

async function status(plan: Plan): Promise<number> {
  const owner = readOwnership(plan.paths.stateDir);
  if (!owner) {
    console.log(`profile ${plan.profile.name}: no systemd units (make service-install installs them)`);
    return 0;
  }
  const rows = await Promise.all(Object.values(owner.units).map((unit) => unitState(unit)));
  console.log(`profile ${plan.profile.name}: systemd user units in ${displayPath(owner.unitDir)}; lingering ${(await linger()) ? 'on (they start at boot)' : 'off (they start at login)'}`);
  const header = ['unit', 'enabled', 'active', 'pid', 'restarts'];
  const cells = rows.map((r) => [r.unit, r.enabled || '-', `${r.active} (${r.sub})`, r.mainPid ? String(r.mainPid) : '-', String(r.restarts)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  for (const row of [header, ...cells]) console.log(row.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd());
  return rows.every((r) => r.active === 'active') ? 0 : 3;
}

await runMain(async () => {
  const plan = planFor();
  const action = process.argv[2];
  if (action === 'install') return install(plan);
  if (action === 'remove') return remove(plan);
  if (action === 'status') return status(plan);
  throw new WorkbenchError(`unknown service action ${action ?? '(none)'}`, 'make service-install, make service-remove or make service-status');
});
