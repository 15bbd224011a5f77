import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { envLine, execWord, readinessProbe, renderUnit, unitName, userUnitDir } from '../../../scripts/lib/process/systemd.ts';

const spec = {
  service: 'model-server',
  description: 'llm-workbench default: llama-server on 127.0.0.1:8080',
  argv: ['/cache/llama-server', '--alias', 'a b', '--chat-template', '{% if x %}$HOME{% endif %}', 'quote"and\\back'],
  env: { LLAMA_API_KEY: 'secret-key', PATH: '/usr/bin:/bin' },
  cwd: '/state/default',
  logFile: '/state/default/server.log',
  ready: { host: '127.0.0.1', port: 8080, path: '/health' },
};

describe('systemd user units', () => {
  it('are named by profile and service, and live in the user\'s own unit folder', () => {
    assert.equal(unitName('default', 'model-server'), 'llm-workbench-default-model-server.service');
    assert.equal(userUnitDir({ HOME: '/home/u' }), '/home/u/.config/systemd/user');
    assert.equal(userUnitDir({ HOME: '/home/u', XDG_CONFIG_HOME: '/cfg' }), '/cfg/systemd/user');
  });

  it('quote every word of ExecStart so systemd passes it as it is: spaces, %, $, quotes and backslashes', () => {
    assert.equal(execWord('a b'), '"a b"');
    assert.equal(execWord('100%'), '"100%%"');
    assert.equal(execWord('$HOME'), '"$$HOME"');
    assert.equal(execWord('say "hi" \\ there'), '"say \\"hi\\" \\\\ there"');
  });

  it('keep the secrets in the 0600 environment file, never in the unit', () => {
    const unit = renderUnit('default', spec, { unitDir: '/u', stateDir: '/state/default' });
    assert.equal(unit.path, '/u/llm-workbench-default-model-server.service');
    assert.ok(!unit.text.includes('secret-key'));
    assert.match(unit.text, /^EnvironmentFile=\/state\/default\/model-server\.systemd\.env$/m);
    assert.match(unit.envText, /^LLAMA_API_KEY="secret-key"$/m);
    assert.match(unit.text, /^Restart=on-failure$/m);
    assert.match(unit.text, /^WantedBy=default\.target$/m);
    assert.match(unit.text, /^StandardOutput=append:\/state\/default\/server\.log$/m);
    assert.match(unit.text, /^ExecStart="\/cache\/llama-server" "--alias" "a b" "--chat-template" "\{%% if x %%\}\$\$HOME\{%% endif %%\}" "quote\\"and\\\\back"$/m);
    assert.doesNotMatch(unit.text, /^After=/m, 'the model server waits for nothing');
    const jupyter = renderUnit('default', { ...spec, service: 'jupyterlab', after: 'llm-workbench-default-model-server.service' }, { unitDir: '/u', stateDir: '/state/default' });
    assert.match(jupyter.text, /^After=llm-workbench-default-model-server\.service$/m);
  });

  it("clear a leftover before the start, ignoring a failure, and stop through the command given (a container engine's client)", () => {
    const unit = renderUnit('c', { ...spec, argv: ['/usr/bin/docker', 'run', '--rm', '--name', 'n', 'img'], before: [['/usr/bin/docker', 'rm', '--force', 'n']], stop: ['/usr/bin/docker', 'stop', 'n'] }, { unitDir: '/u', stateDir: '/state/c' });
    assert.match(unit.text, /^ExecStartPre=-"\/usr\/bin\/docker" "rm" "--force" "n"$/m);
    assert.match(unit.text, /^ExecStop="\/usr\/bin\/docker" "stop" "n"$/m);
    const plain = renderUnit('default', spec, { unitDir: '/u', stateDir: '/state/default' });
    assert.doesNotMatch(plain.text, /^ExecStartPre=|^ExecStop=/m, 'a process of ours stops on its signal');
  });

  it('refuse an environment value over several lines and a path systemd would read otherwise', () => {
    assert.throws(() => envLine('X', 'a\nB=evil'), /spans lines/);
    assert.equal(envLine('X', 'a"b\\c'), 'X="a\\"b\\\\c"');
    assert.throws(() => renderUnit('default', { ...spec, cwd: '/state/my notes' }, { unitDir: '/u', stateDir: '/state/default' }), /cannot be written into a systemd unit as it is/);
  });

  it('wait for readiness with a bash probe that asks for 200 on the path, and takes host, port and path only when they are plain', () => {
    const probe = readinessProbe({ host: '127.0.0.1', port: 8080, path: '/health' }, 1);
    assert.match(probe, /^\/bin\/bash -c "/);
    // The script as bash gets it: systemd's %% and $$ turned back, the quoting undone by a shell.
    const script = JSON.parse(probe.slice('/bin/bash -c '.length).replace(/%%/g, '%').replace(/\$\$/g, '$')) as string;
    assert.match(script, /exec 3<>\/dev\/tcp\/127\.0\.0\.1\/8080/);
    assert.match(script, /GET \/health HTTP\/1\.0/);
    // Nothing listens on port 1: the probe gives up after its time with exit status 1.
    const down = JSON.parse(readinessProbe({ host: '127.0.0.1', port: 1 }, 1).slice('/bin/bash -c '.length).replace(/%%/g, '%').replace(/\$\$/g, '$')) as string;
    const started = Date.now();
    assert.throws(() => execFileSync('/bin/bash', ['-c', down], { stdio: 'ignore', timeout: 10_000, env: { ...process.env, MAINPID: String(process.pid) } }), (error: { status?: number }) => error.status === 1);
    assert.ok(Date.now() - started >= 900, 'it asked for its whole second');
    assert.throws(() => readinessProbe({ host: '127.0.0.1; rm -rf /', port: 8080 }), /not a probe target/);
    assert.throws(() => readinessProbe({ host: '127.0.0.1', port: 8080, path: '/x y' }), /not a probe target/);
  });

  it('reads a server that answers 200 on the path as ready, and one that answers 503 (loading) as not yet', async () => {
    let status = 503;
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/health' ? status : 404);
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const readinessScript = (p: number, seconds: number) => JSON.parse(readinessProbe({ host: '127.0.0.1', port: p }, seconds).slice('/bin/bash -c '.length).replace(/%%/g, '%').replace(/\$\$/g, '$')) as string;
    const script = (path?: string) => JSON.parse(readinessProbe({ host: '127.0.0.1', port, ...(path ? { path } : {}) }, 1).slice('/bin/bash -c '.length).replace(/%%/g, '%').replace(/\$\$/g, '$')) as string;
    // systemd gives ExecStartPost the service's main pid: here this process stands for a live one.
    const run = (text: string, mainPid = process.pid) => new Promise<number>((resolve) => execFile('/bin/bash', ['-c', text], { timeout: 10_000, env: { ...process.env, MAINPID: String(mainPid) } }, (error) => resolve(error ? ((error as { code?: number }).code ?? -1) : 0)));
    try {
      assert.equal(await run(script('/health')), 1, 'loading (503) is not ready');
      assert.equal(await run(script()), 0, 'without a path any answer is');
      status = 200;
      assert.equal(await run(script('/health')), 0);
      // A service that died while starting: the probe fails at once instead of waiting out its time.
      const started = Date.now();
      assert.equal(await run(readinessScript(1, 600), 2 ** 22 + 1), 1);
      assert.ok(Date.now() - started < 5000, 'not the 600 s of its limit');
    } finally {
      server.close();
    }
  });
});
