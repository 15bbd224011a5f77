/**
 * Who holds a TCP port, read from /proc (no lsof or ss needed): the listening socket's inode in
 * /proc/net/tcp{,6} and the process whose fd points at it. This is how we know a server is ours
 * without asking it anything: llama_cpp.server makes GET /v1/models wait behind a generation, so
 * a busy server of ours must never be taken for a stranger.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { processGroupMembers } from '../state/process-identity.ts';

const LISTEN = '0A';
const ESTABLISHED = '01';

interface SocketRow {
  localPort: number;
  state: string;
  inode: string;
  /** For a listening socket, the connections the kernel completed that the program has not accepted yet. */
  rxQueue: number;
}

/** Parses /proc/net/tcp and /proc/net/tcp6 (the format is the same). */
export function parseProcNetTcp(text: string): SocketRow[] {
  const rows: SocketRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const local = fields[1] as string;
    const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    const rxQueue = Number.parseInt((fields[4] as string).split(':')[1] ?? '0', 16);
    rows.push({ localPort: port, state: fields[3] as string, inode: fields[9] as string, rxQueue: Number.isNaN(rxQueue) ? 0 : rxQueue });
  }
  return rows;
}

function socketRows(procRoot: string): SocketRow[] {
  const rows: SocketRow[] = [];
  for (const file of ['tcp', 'tcp6']) {
    try {
      rows.push(...parseProcNetTcp(readFileSync(`${procRoot}/net/${file}`, 'utf8')));
    } catch {
      // No IPv6 (or no /proc): nothing listed there.
    }
  }
  return rows;
}

/** Inodes of the sockets listening on `port` (any address). */
export function listeningInodes(port: number, procRoot = '/proc'): Set<string> {
  return new Set(socketRows(procRoot).filter((r) => r.localPort === port && r.state === LISTEN).map((r) => r.inode));
}

/**
 * Connections on `port` the server has accepted and still holds open: the requests in flight (and
 * idle keep-alive connections, which close on their own within seconds). The kernel completes a
 * handshake even when the program never calls accept (a hung or stopped server): those wait in
 * the listening socket's queue (its rx_queue in /proc/net/tcp) and are not being served, so they
 * are left out; counting them took a hung server for a busy one.
 */
export function openConnections(port: number, procRoot = '/proc'): number {
  const rows = socketRows(procRoot).filter((r) => r.localPort === port);
  const established = rows.filter((r) => r.state === ESTABLISHED).length;
  const waiting = rows.filter((r) => r.state === LISTEN).reduce((sum, r) => sum + r.rxQueue, 0);
  return Math.max(0, established - waiting);
}

/** The processes of `pid`'s group (itself included) that have a socket listening on `port`. */
export function portHolders(pid: number, port: number, procRoot = '/proc'): number[] {
  const inodes = listeningInodes(port, procRoot);
  if (inodes.size === 0) return [];
  const holders: number[] = [];
  for (const member of new Set([pid, ...processGroupMembers(pid, procRoot)])) {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${member}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${procRoot}/${member}/fd/${fd}`));
        return match !== null && inodes.has(match[1] as string);
      } catch {
        return false; // Closed meanwhile.
      }
    });
    if (holds) holders.push(member);
  }
  return holders;
}

/** True when `pid` (or a process of its group) has a socket listening on `port`. */
export function pidHoldsPort(pid: number, port: number, procRoot = '/proc'): boolean {
  return portHolders(pid, port, procRoot).length > 0;
}
