import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wslVersion, type PlatformFacts } from '../../../scripts/lib/machine/platform.ts';
import { wslFindings, wslProvisionLine } from '../../../scripts/lib/machine/wsl.ts';
import { openerFor } from '../../../scripts/lib/jupyter/open.ts';
import type { ServiceRecord } from '../../../scripts/lib/process/background.ts';
import { describeExit, whyStopped } from '../../../scripts/lib/process/why-stopped.ts';

const WSL2 = 'Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f) (gcc (GCC) 11.2.0) #1 SMP';
const WSL1 = 'Linux version 4.4.0-22621-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) #2506-Microsoft';
const LINUX = 'Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP';
const GB = 1024 ** 3;

function facts(extra: Partial<PlatformFacts> = {}): PlatformFacts {
  return { procVersion: WSL2, bootId: 'b1', memTotalBytes: 8 * GB, ...extra };
}
const ctx = { inContainer: false, modelBytes: 1 * GB, paths: { repo: '/home/me/llm-workbench', cache: '/home/me/.cache/llm-workbench' } };
const finding = (all: ReturnType<typeof wslFindings>, check: string) => all.find((f) => f.check === check);

describe('what WSL does to a running stack (make doctor)', () => {
  it('tells WSL 1, WSL 2 and plain Linux apart from /proc/version', () => {
    assert.equal(wslVersion(WSL2), 'wsl2');
    assert.equal(wslVersion(WSL1), 'wsl1');
    assert.equal(wslVersion(LINUX), undefined);
    assert.deepEqual(wslFindings(facts({ procVersion: LINUX }), ctx), []);
    assert.equal(finding(wslFindings(facts({ procVersion: WSL1 }), ctx), 'wsl')?.status, 'warn');
  });

  it('warns that the distro stops when its last terminal closes, unless Docker Desktop runs the server', () => {
    const native = finding(wslFindings(facts(), ctx), 'idle shutdown');
    assert.equal(native?.status, 'warn');
    assert.match(native?.fix ?? '', /keep a WSL terminal open/);
    const desktop = finding(wslFindings(facts({ dockerOs: 'Docker Desktop' }), { ...ctx, inContainer: true }), 'idle shutdown');
    assert.equal(desktop?.status, 'ok');
    assert.match(wslProvisionLine(false, false), /keep one open/);
    assert.match(wslProvisionLine(true, true), /survives the distro's idle shutdown/);
  });

  it('says whether systemd runs the distro, and how to turn it on for make service-install', () => {
    const off = finding(wslFindings(facts({ init: 'init' }), ctx), 'wsl systemd');
    assert.equal(off?.status, 'info');
    assert.match(off?.detail ?? '', /process 1 is init/);
    assert.match(off?.fix ?? '', /"\[boot\]" and "systemd=true" to \/etc\/wsl\.conf.*wsl\.exe --shutdown.*make service-install/);
    const on = finding(wslFindings(facts({ init: 'systemd' }), ctx), 'wsl systemd');
    assert.equal(on?.status, 'ok');
    assert.match(on?.detail ?? '', /make service-install/);
  });

  it('fails when the VM has less memory than the model needs, and names .wslconfig', () => {
    const small = finding(wslFindings(facts({ memTotalBytes: 4 * GB, wslconfig: '[wsl2]\nmemory=4GB\n' }), { ...ctx, modelBytes: 5.5 * GB }), 'wsl memory');
    assert.equal(small?.status, 'fail');
    assert.match(small?.detail ?? '', /\.wslconfig: memory=4GB/);
    assert.match(small?.fix ?? '', /memory=9GB, then wsl --shutdown/);
  });

  it('warns about the repo or caches under /mnt/ (the 9P bridge)', () => {
    const slow = finding(wslFindings(facts(), { ...ctx, paths: { repo: '/mnt/c/Users/me/llm-workbench', cache: '/home/me/.cache' } }), 'wsl files');
    assert.equal(slow?.status, 'warn');
    assert.match(slow?.detail ?? '', /repo \/mnt\/c\/Users\/me\/llm-workbench on the Windows drive/);
    assert.equal(finding(wslFindings(facts(), ctx), 'wsl files'), undefined);
  });

  it('explains localhost forwarding, mirrored mode, and a .wslconfig that turns forwarding off', () => {
    assert.equal(finding(wslFindings(facts({ networkingMode: 'mirrored' }), ctx), 'wsl network')?.status, 'ok');
    assert.match(finding(wslFindings(facts(), ctx), 'wsl network')?.fix ?? '', /wsl --shutdown/);
    assert.equal(finding(wslFindings(facts({ wslconfig: '[wsl2]\nlocalhostForwarding=false\n' }), ctx), 'wsl network')?.status, 'fail');
    assert.match(finding(wslFindings(facts({ dockerOs: 'Ubuntu 24.04 LTS' }), ctx), 'docker')?.detail ?? '', /inside the distro .* stops with the distro/);
  });
});

describe('why a service is not running (make status)', () => {
  const record: ServiceRecord = { service: 'model-server', pid: 123, startTime: '1', fingerprint: 'f', logFile: '/l', url: 'u', startedAt: '2026-11-26T10:00:00Z', bootId: 'b1', exitFile: '/state/server.exit' };

  it('says the machine or WSL restarted when the boot id changed, with what to run', () => {
    const gone = whyStopped(record, { bootId: 'b2', wsl: true }, () => undefined);
    assert.equal(gone.kind, 'restarted');
    assert.match(gone.message, /^gone: WSL restarted since it was started 2026-11-26T10:00:00Z \(the boot id changed\), so it did not crash$/);
    assert.match(gone.hint, /^make provision brings it back\. WSL stops the distro/);
    assert.match(whyStopped(record, { bootId: 'b2', wsl: false }, () => undefined).message, /the machine restarted/);
  });

  it('says it crashed, with its exit status or signal, on the same boot', () => {
    assert.match(whyStopped(record, { bootId: 'b1', wsl: false }, () => '1').message, /^crashed: exited with status 1/);
    assert.match(whyStopped(record, { bootId: 'b1', wsl: false }, () => '137').message, /^crashed: killed by SIGKILL \(out of memory\?/);
    assert.equal(whyStopped(record, { bootId: 'b1', wsl: false }, () => undefined).kind, 'vanished');
    assert.equal(describeExit(143), 'killed by SIGTERM');
  });
});

describe('make open', () => {
  const has = (...programs: string[]) => (program: string) => programs.includes(program);
  it('uses wslview or explorer.exe on WSL, xdg-open on a desktop, nothing where there is no browser', () => {
    assert.equal(openerFor({ wsl: true, has: has('wslview', 'explorer.exe', 'wslpath'), env: {} })?.name, 'wslview');
    const explorer = openerFor({ wsl: true, has: has('explorer.exe', 'wslpath'), env: {} });
    assert.deepEqual(explorer?.argv('/s/jpserver-1-open.html', '\\\\wsl.localhost\\Ubuntu\\s\\jpserver-1-open.html'), ['explorer.exe', '\\\\wsl.localhost\\Ubuntu\\s\\jpserver-1-open.html']);
    assert.deepEqual(openerFor({ wsl: false, has: has('xdg-open'), env: { DISPLAY: ':0' } })?.argv('/s/p.html'), ['xdg-open', '/s/p.html']);
    assert.equal(openerFor({ wsl: false, has: has('xdg-open'), env: {} }), undefined, 'no display: no browser');
  });
});
