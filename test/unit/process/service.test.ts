import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { WorkbenchError } from '../../../scripts/lib/errors.ts';
import { freePort, isPortFree } from '../../../scripts/lib/process/ports.ts';
import { stopService, type ServiceRecord } from '../../../scripts/lib/process/background.ts';
import { logTail } from '../../../scripts/lib/process/log-tail.ts';
import { processStartTime } from '../../../scripts/lib/state/process-identity.ts';
import { modelIsListed } from '../../../scripts/lib/process/readiness.ts';
import { serviceHealth, waitUntilIdle } from '../../../scripts/lib/process/service.ts';
import { openConnections, pidHoldsPort } from '../../../scripts/lib/process/sockets.ts';
import { REPO_ROOT, tempDir } from '../../helpers.ts';

const BUSY_SERVER = join(REPO_ROOT, 'test', 'unit', 'fixtures', 'busy-server.ts');

async function startBusyServer(port: number, streamMs: number): Promise<{ child: ResultPromise; record: ServiceRecord }> {
  const child = execa('node', ['--import', 'tsx', BUSY_SERVER, String(port), String(streamMs)], { cwd: REPO_ROOT, reject: false, buffer: false });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  const record: ServiceRecord = { service: 'model-server', pid: child.pid!, startTime: processStartTime(child.pid!)!, fingerprint: 'f', logFile: '/dev/null', url: '', startedAt: '' };
  return { child, record };
}

describe('who holds a port, and how a service of ours is doing', () => {
  it('knows the process that listens on a port, and that another does not', async () => {
    const port = await freePort();
    const { child, record } = await startBusyServer(port, 100);
    try {
      assert.equal(pidHoldsPort(record.pid, port), true);
      assert.equal(pidHoldsPort(process.pid, port), false);
    } finally {
      child.kill();
    }
  });

  it('calls a server of ours busy, not gone, while /v1/models waits behind a stream; ready once the stream ends', async () => {
    const port = await freePort();
    const { child, record } = await startBusyServer(port, 4000);
    const probe = () => modelIsListed(`http://127.0.0.1:${port}/v1`, 'm');
    try {
      assert.equal(await serviceHealth(record, port, probe), 'ready');
      const stream = fetch(`http://127.0.0.1:${port}/stream`).then((r) => r.text());
      await sleep(300);
      assert.equal(openConnections(port) >= 1, true);
      assert.equal(await serviceHealth(record, port, probe), 'busy');
      const left = await waitUntilIdle('test server', port, 20_000, () => {});
      assert.equal(left, 0);
      assert.match(await stream, /\[DONE\]/);
      assert.equal(await serviceHealth(record, port, probe), 'ready');
    } finally {
      child.kill();
    }
    await sleep(200);
    assert.equal(await serviceHealth(record, port, probe), 'stopped');
  });
  it('calls a stopped server of ours unresponsive, not busy, though requests wait in its listen queue', async () => {
    const port = await freePort();
    const { child, record } = await startBusyServer(port, 100);
    const probe = () => modelIsListed(`http://127.0.0.1:${port}/v1`, 'm');
    try {
      process.kill(record.pid, 'SIGSTOP');
      // The kernel completes these handshakes; the stopped program never accepts them.
      const queued = [1, 2].map(() => fetch(`http://127.0.0.1:${port}/v1/models`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined));
      await sleep(300);
      assert.equal(openConnections(port), 0, 'a queued connection is not a request being served');
      assert.equal(await serviceHealth(record, port, probe), 'unresponsive');
      process.kill(record.pid, 'SIGCONT');
      await Promise.all(queued);
      assert.equal(await serviceHealth(record, port, probe), 'ready');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('stops a stopped (kill -STOP) service with SIGTERM, not by waiting out the grace period for SIGKILL', async () => {
    const child = execa('sleep', ['30'], { reject: false, detached: true });
    const recordFile = join(tempDir(), 'server.json');
    writeFileSync(recordFile, JSON.stringify({ service: 'model-server', pid: child.pid, startTime: processStartTime(child.pid!), fingerprint: '', logFile: '', url: '', startedAt: '' }));
    process.kill(child.pid!, 'SIGSTOP');
    const sent: string[] = [];
    const signal = (pid: number, name: NodeJS.Signals) => {
      sent.push(name);
      process.kill(-pid, name);
    };
    assert.equal(await stopService(recordFile, { graceMs: 20_000, signal }), true);
    assert.deepEqual(sent, ['SIGTERM', 'SIGCONT']);
    assert.equal((await child).signal, 'SIGTERM');
  });
});

describe('small process helpers', () => {
  it('shows the tail of a log whose last 64 KB start inside a Japanese character', () => {
    const file = join(tempDir(), 'server.log');
    const line = '東京の観光名所を３つ教えてください。\n';
    writeFileSync(file, line.repeat(5000));
    const tail = logTail(file, 3);
    assert.equal(tail, ['  | 東京の観光名所を３つ教えてください。', '  | 東京の観光名所を３つ教えてください。', '  | 東京の観光名所を３つ教えてください。'].join('\n'));
  });

  it('gives up, with a message, on a process that outlives SIGKILL', async () => {
    const child = execa('sleep', ['30'], { reject: false });
    const recordFile = join(tempDir(), 'server.json');
    writeFileSync(recordFile, JSON.stringify({ service: 'model-server', pid: child.pid, startTime: processStartTime(child.pid!), fingerprint: '', logFile: '', url: '', startedAt: '' }));
    try {
      // The signals are not delivered: the process stands for one stuck in the kernel (state D).
      await assert.rejects(stopService(recordFile, { graceMs: 200, killWaitMs: 300, signal: () => {} }), (error: unknown) => {
        assert.ok(error instanceof WorkbenchError);
        assert.match(error.message, new RegExp(`model-server \\(pid ${child.pid}\\) did not exit 0s after SIGKILL`));
        return true;
      });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('tells a port held by another program from an address this machine does not have', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      assert.equal(await isPortFree('127.0.0.1', port, 'server.port'), false);
      await assert.rejects(isPortFree('203.0.113.7', port, 'server.port'), /cannot listen on 203\.0\.113\.7:\d+ \(server\.port\): 203\.0\.113\.7 is not an address of this machine/);
    } finally {
      server.close();
    }
  });
});

describe('readiness probes leave no connection behind', () => {
  it('probes /v1/models and /health on connections that close, so a restart does not wait on a probe', async () => {
    const { default: http } = await import('node:http');
    const { modelIsListed, healthEndpointOk } = await import('../../../scripts/lib/process/readiness.ts');
    const { openConnections } = await import('../../../scripts/lib/process/sockets.ts');
    const port = await freePort();
    // A keep-alive server, as llama-server is: an idle pooled connection would stay ESTABLISHED.
    const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(req.url === '/v1/models' ? JSON.stringify({ data: [{ id: 'smol' }] }) : '{"status":"ok"}');
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      assert.equal(await modelIsListed(`http://127.0.0.1:${port}/v1`, 'smol'), true);
      assert.equal(await healthEndpointOk(`http://127.0.0.1:${port}/v1`), true);
      assert.equal(await modelIsListed(`http://127.0.0.1:${port}/v1`, 'other'), false);
      await sleep(100);
      assert.equal(openConnections(port), 0, 'a probe left its connection open');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
