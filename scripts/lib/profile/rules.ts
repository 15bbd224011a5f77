/**
 * Rules a profile must keep beyond its schema, and how its values are spelled where they land:
 * ports that differ, no unauthenticated model on the network, hosts in URLs, names for
 * Kubernetes and compose.
 */
import { runtimeTraits } from './runtimes.ts';
import { backendNamed } from '../backend/index.ts';
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

/**
 * /metrics says what the server is doing (requests, tokens, slots): on a non-loopback address
 * only behind the key, and only where the backend has it.
 */
export function checkMetrics(profile: Profile, file: string): void {
  const server = profile.server;
  if (server.metrics !== true) return;
  if (!backendNamed(server.backend).api.metrics) {
    throw new WorkbenchError(`${displayPath(file)}: server.metrics: true, but ${server.backend} has no /metrics`, 'use server.backend: llama-server, or leave server.metrics out');
  }
  if (!isLoopback(server.host) && server.api_key === 'none') {
    throw new WorkbenchError(
      `${displayPath(file)}: server.metrics: true on ${server.host} would publish the server's metrics to the network without an API key`,
      'set server.api_key: generate (then /metrics needs the key), or server.host: 127.0.0.1, or leave server.metrics: auto',
    );
  }
}

/** Speculative decoding only where the backend has it: silently ignored, the user would read the speed as its effect. */
export function checkSpeculation(profile: Profile, file: string): void {
  const server = profile.server;
  if (server.speculative !== 'off' && server.speculative !== 'auto' && !backendNamed(server.backend).speculates) {
    throw new WorkbenchError(`${displayPath(file)}: server.speculative: ${server.speculative}, but ${server.backend} has no draft-free speculation`, 'use server.backend: llama-server, or leave server.speculative out');
  }
}

/** A page or idle sleep asked of a backend without them: refused, not silently dropped. */
export function checkPageAndSleep(profile: Profile, file: string): void {
  const server = profile.server;
  const backend = backendNamed(server.backend);
  if (server.web_ui === true && !backend.hasWebUi) {
    throw new WorkbenchError(`${displayPath(file)}: server.web_ui: true, but ${server.backend} has no chat page`, 'use server.backend: llama-server (llama.cpp\'s page is built into it), or leave server.web_ui out');
  }
  if (server.idle_sleep !== 'off' && !backend.idleSleep) {
    throw new WorkbenchError(`${displayPath(file)}: server.idle_sleep: ${server.idle_sleep}, but ${server.backend} cannot unload its model when idle`, 'use server.backend: llama-server, or leave server.idle_sleep out');
  }
}

/** server.web_ui as served: auto is on where the backend has the page. */
export function webUiOn(profile: Pick<Profile, 'server'>): boolean {
  return profile.server.web_ui === 'auto' ? backendNamed(profile.server.backend).hasWebUi : profile.server.web_ui;
}

/** server.idle_sleep in seconds (undefined when off). */
export function idleSleepSeconds(idle: string): number | undefined {
  const match = /^(\d+)(s|m|h)$/.exec(idle);
  if (!match) return undefined;
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
}

/** Whether the server runs with /metrics: as the profile says, auto on loopback or behind a key. */
export function metricsOn(profile: Pick<Profile, 'server'>): boolean {
  const server = profile.server;
  if (!backendNamed(server.backend).api.metrics) return false;
  return server.metrics === true || (server.metrics === 'auto' && (isLoopback(server.host) || server.api_key !== 'none'));
}

/** Several models: each needs its own name, and the native runtime serves them (for now). */
export function checkModels(profile: Profile, file: string): void {
  const aliases = [profile.model, ...profile.extra_models].map((model) => model.alias);
  const repeated = aliases.find((alias, index) => aliases.indexOf(alias) !== index);
  if (repeated) {
    throw new WorkbenchError(
      `${displayPath(file)}: two models are called "${repeated}"`,
      'give each entry of model and extra_models its own alias: requests pick a model by it',
    );
  }
  const backend = backendNamed(profile.server.backend);
  if (profile.extra_models.length > 0 && !backend.flagsForSeveralModels && profile.server.extra_args.length > 0) {
    throw new WorkbenchError(
      `${displayPath(file)}: server.extra_args cannot go with extra_models on ${profile.server.backend} (its several models come from a config file, which takes no flags)`,
      'drop server.extra_args, or serve the models with server.backend: llama-server (whose flags apply to every model)',
    );
  }
  if (profile.extra_models.length > 0 && !runtimeTraits(profile.runtime).servesSeveralModels) {
    throw new WorkbenchError(
      `${displayPath(file)}: extra_models are served by the native runtime only (a container serves one model)`,
      'use runtime: native for several models, or one model per container profile',
    );
  }
}

/**
 * RPC workers: llama-server's (--rpc), from the host it runs on (a container's network would need
 * its own rules), for one model (the router's instances would each take the workers, and
 * rpc-server serves one client at a time).
 */
export function checkDistributed(profile: Profile, file: string): void {
  const workers = profile.distributed?.rpc_workers ?? [];
  if (workers.length === 0) return;
  const where = `${displayPath(file)}: distributed.rpc_workers`;
  if (!backendNamed(profile.server.backend).spreadsOverRpc) {
    throw new WorkbenchError(`${where} is set, but ${profile.server.backend} cannot spread a model over RPC workers`, 'use server.backend: llama-server, or leave distributed.rpc_workers out');
  }
  if (!runtimeTraits(profile.runtime).buildsOnHost) {
    throw new WorkbenchError(`${where} is set, but runtime: ${profile.runtime} serves from an image`, 'use runtime: native for a model spread over RPC workers');
  }
  if (profile.extra_models.length > 0) {
    throw new WorkbenchError(`${where} cannot go with extra_models: rpc-server serves one llama-server at a time, and each model would be one`, 'serve one model over the workers, or leave extra_models out');
  }
  const repeated = workers.find((worker, index) => workers.indexOf(worker) !== index);
  if (repeated) throw new WorkbenchError(`${where} lists ${repeated} twice`, 'name each worker once');
}
