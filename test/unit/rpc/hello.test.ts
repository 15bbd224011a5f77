import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { rpcHello, RPC_PROTOCOL } from '../../../scripts/lib/rpc/hello.ts';
import { workerProblem } from '../../../scripts/lib/rpc/workers.ts';
import { freePort } from '../../../scripts/lib/process/ports.ts';

/** A TCP server that records what it was sent and answers as `reply` says. */
async function listen(reply: (socket: Socket, received: Buffer) => void): Promise<{ server: Server; port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  const server = createServer((socket) => {
    socket.on('data', (chunk) => {
      received.push(chunk);
      reply(socket, Buffer.concat(received));
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { server, port: (server.address() as AddressInfo).port, received };
}

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

/** ggml-rpc's HELLO answer: | size (8) | major minor patch padding | 24 bytes of capabilities |. */
function helloAnswer(major: number, minor: number, patch: number): Buffer {
  const answer = Buffer.alloc(8 + 28);
  answer.writeBigUInt64LE(28n, 0);
  answer.writeUInt8(major, 8);
  answer.writeUInt8(minor, 9);
  answer.writeUInt8(patch, 10);
  return answer;
}

const worker = (port: number) => ({ host: '127.0.0.1', port, endpoint: `127.0.0.1:${port}` });

describe('the RPC handshake spoken to a worker (rpc/hello.ts)', () => {
  it('sends HELLO as ggml-rpc does: command 14, a 24-byte request of capabilities, and reads the version', async () => {
    const { port, received } = await listen((socket, data) => {
      if (data.length >= 33) socket.write(helloAnswer(RPC_PROTOCOL.major, RPC_PROTOCOL.minor, 3));
    });
    const answer = await rpcHello('127.0.0.1', port);
    assert.deepEqual(answer, { state: 'answered', version: `${RPC_PROTOCOL.major}.${RPC_PROTOCOL.minor}.3`, compatible: true });
    const request = Buffer.concat(received);
    assert.equal(request.length, 1 + 8 + 24);
    assert.equal(request[0], 14);
    assert.equal(request.readBigUInt64LE(1), 24n);
    assert.equal(workerProblem(worker(port), answer), undefined);
  });

  it('calls a worker of another protocol major, or a newer minor, incompatible and says to build it from the same version', async () => {
    for (const [major, minor] of [[RPC_PROTOCOL.major + 1, 0], [RPC_PROTOCOL.major, RPC_PROTOCOL.minor + 1]] as const) {
      const { port } = await listen((socket, data) => data.length >= 33 && socket.write(helloAnswer(major, minor, 0)));
      const answer = await rpcHello('127.0.0.1', port);
      assert.equal(answer.state === 'answered' && answer.compatible, false);
      assert.match(workerProblem(worker(port), answer)!, new RegExp(`speaks RPC protocol ${major}\\.${minor}\\.0.*same llama_cpp\\.version`));
    }
  });

  it('names a port nobody listens on as unreachable, with the system error', async () => {
    const port = await freePort();
    const answer = await rpcHello('127.0.0.1', port);
    assert.deepEqual(answer, { state: 'refused', code: 'ECONNREFUSED' });
    assert.match(workerProblem(worker(port), answer)!, /cannot be reached \(ECONNREFUSED\): is make rpc-worker running there/);
  });

  it('gives up on a worker that takes the connection and says nothing (one serving another client), within its timeout', async () => {
    const { port } = await listen(() => undefined);
    const started = Date.now();
    const answer = await rpcHello('127.0.0.1', port, 300);
    assert.deepEqual(answer, { state: 'silent' });
    assert.ok(Date.now() - started < 2000);
    assert.match(workerProblem(worker(port), answer)!, /one client at a time/);
  });

  it('tells a program that is no rpc-server (an HTTP server answering) from a worker', async () => {
    const { port } = await listen((socket) => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    const answer = await rpcHello('127.0.0.1', port);
    assert.equal(answer.state, 'not-rpc');
    assert.match(workerProblem(worker(port), answer)!, /is no rpc-server/);
  });
});
