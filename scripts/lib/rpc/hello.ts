/**
 * ggml-rpc's handshake, spoken from Node: what `llama-server --rpc` sends first to a worker. A
 * worker that answers it is an rpc-server of a protocol this build speaks; one that does not would
 * make llama-server abort at start ("Failed to connect to ...", "RPC handshake failed"), or hang.
 *
 * Wire format (ggml/src/ggml-rpc/ggml-rpc.cpp of the pinned source): a request is
 * | cmd (1 byte) | size (8 bytes, little endian) | data |; HELLO is command 14 and carries the
 * client's transport capabilities (24 bytes; zero: plain TCP). The answer is | size (8) | data |
 * with data = | major | minor | patch | padding | capabilities (24) |.
 */
import { connect } from 'node:net';

const RPC_CMD_HELLO = 14;
const CONN_CAPS_SIZE = 24;
const HELLO_RESPONSE_SIZE = 4 + CONN_CAPS_SIZE;
/** The RPC protocol this pinned llama.cpp speaks (ggml/include/ggml-rpc.h): a worker must have the same major and no newer minor. */
export const RPC_PROTOCOL = { major: 7, minor: 0 } as const;

export type HelloAnswer =
  | { state: 'answered'; version: string; compatible: boolean }
  | { state: 'refused'; code: string }
  | { state: 'silent' }
  | { state: 'not-rpc'; detail: string };

/** One HELLO to host:port; the connection is closed after it (rpc-server then waits for its next client). */
export function rpcHello(host: string, port: number, timeoutMs = 5000): Promise<HelloAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (answer: HelloAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish({ state: 'silent' }), timeoutMs);
    socket.once('connect', () => {
      const request = Buffer.alloc(1 + 8 + CONN_CAPS_SIZE);
      request.writeUInt8(RPC_CMD_HELLO, 0);
      request.writeBigUInt64LE(BigInt(CONN_CAPS_SIZE), 1);
      socket.write(request);
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const data = Buffer.concat(chunks);
      if (data.length < 8) return;
      const size = Number(data.readBigUInt64LE(0));
      if (size !== HELLO_RESPONSE_SIZE) {
        finish({ state: 'not-rpc', detail: `it answered ${data.length} bytes that are no RPC HELLO answer` });
        return;
      }
      if (data.length < 8 + size) return;
      const [major, minor, patch] = [data[8]!, data[9]!, data[10]!];
      finish({ state: 'answered', version: `${major}.${minor}.${patch}`, compatible: major === RPC_PROTOCOL.major && minor <= RPC_PROTOCOL.minor });
    });
    socket.once('end', () => finish({ state: 'not-rpc', detail: 'it closed the connection without answering the RPC HELLO' }));
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ state: 'refused', code: error.code ?? error.message }));
  });
}
