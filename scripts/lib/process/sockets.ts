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
}

/** Parses /proc/net/tcp and /proc/net/tcp6 (the format is the same). */
export function parseProcNetTcp(text: string): SocketRow[] {
  const rows: SocketRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const local = fields[1] as string;
    const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    rows.push({ localPort: port, state: fields[3] as string, inode: fields[9] as string });
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
 * Connections accepted on `port` and still open: the server side of each request in flight (and
 * of idle keep-alive connections, which close on their own within seconds).
 */
export function openConnections(port: number, procRoot = '/proc'): number {
  return socketRows(procRoot).filter((r) => r.localPort === port && r.state === ESTABLISHED).length;
}

/** True when `pid` (or a process of its group) has a socket listening on `port`. */
export function pidHoldsPort(pid: number, port: number, procRoot = '/proc'): boolean {
  const inodes = listeningInodes(port, procRoot);
  if (inodes.size === 0) return false;
  for (const member of [pid, ...processGroupMembers(pid, procRoot)]) {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${member}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${procRoot}/${member}/fd/${fd}`));
        if (match && inodes.has(match[1] as string)) return true;
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return false;
}
