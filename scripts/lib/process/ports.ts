/** Is a port free to bind? Asked by binding it for a moment, as the service itself would. */
import { createServer } from 'node:net';
import { WorkbenchError } from '../errors.ts';

export type PortProbe = { state: 'free' } | { state: 'in-use' } | { state: 'unusable'; code: string; message: string };

export function probePort(host: string, port: number): Promise<PortProbe> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'EADDRINUSE' ? { state: 'in-use' } : { state: 'unusable', code: error.code ?? 'unknown', message: error.message });
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve({ state: 'free' })));
  });
}

/**
 * True when the port is free, false when another socket holds it. Any other failure (the host
 * is not an address of this machine, a port below 1024 without privileges) is not "in use":
 * it is thrown with what to change.
 */
export async function isPortFree(host: string, port: number, field = 'port'): Promise<boolean> {
  const probe = await probePort(host, port);
  if (probe.state === 'unusable') throw unusablePort(host, port, field, probe);
  return probe.state === 'free';
}

export function unusablePort(host: string, port: number, field: string, probe: { code: string; message: string }): WorkbenchError {
  const why =
    probe.code === 'EADDRNOTAVAIL' || probe.code === 'ENOTFOUND' || probe.code === 'EAI_AGAIN'
      ? `${host} is not an address of this machine`
      : probe.code === 'EACCES'
        ? `binding port ${port} needs privileges`
        : probe.message;
  const hostField = field.replace(/\.port$/, '.host');
  return new WorkbenchError(
    `cannot listen on ${host}:${port} (${field}): ${why}`,
    probe.code === 'EACCES' ? `choose a ${field} of 1024 or more` : `set ${hostField} to 127.0.0.1 or to an address this machine has (ip -brief address lists them)`,
  );
}

/** A port free on loopback right now (the kernel's pick), for a server of our own. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
