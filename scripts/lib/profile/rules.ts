/**
 * Rules a profile must keep beyond its schema, and how its values are spelled where they land:
 * ports that differ, no unauthenticated model on the network, hosts in URLs, names for
 * Kubernetes and compose.
 */
import { displayPath, WorkbenchError } from '../errors.ts';
import type { Profile } from './schema.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** A host as it goes into a URL: IPv6 literals in brackets (http://[::1]:8080/v1). */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** A DNS-1123 label (Kubernetes names, compose v1 projects): lower case, digits and dashes. */
export function dnsLabel(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
}

export function checkPorts(profile: Profile, file: string): void {
  if (profile.jupyter.enabled && profile.jupyter.port === profile.server.port) {
    throw new WorkbenchError(
      `${displayPath(file)}: server.port and jupyter.port are both ${profile.server.port}`,
      'give each service its own port, e.g. server.port: 8080 and jupyter.port: 18888',
    );
  }
}

export function checkExposure(profile: Profile, file: string): void {
  const server = profile.server;
  if (!isLoopback(server.host) && server.api_key === 'none' && !server.allow_unauthenticated) {
    throw new WorkbenchError(
      `${displayPath(file)}: server.host is ${server.host}, which exposes the model to the network without an API key`,
      'set server.api_key: generate (a random key in a 0600 file), or server.host: 127.0.0.1, ' +
        'or server.allow_unauthenticated: true if that exposure is intended',
    );
  }
}
