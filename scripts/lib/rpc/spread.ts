/**
 * How llama-server spread the model over its RPC workers, from its own loading report (at
 * --log-verbosity 4): the weights and the KV cache each device holds, named by the worker's
 * address, as "RPC0[10.0.0.2:50052] model buffer size = 92.10 MiB". A worker of the plan the
 * report does not name holds nothing.
 */
import type { RpcWorker } from '../plan/index.ts';

export interface RpcDeviceShare {
  device: string;
  endpoint: string;
  weightsMiB: number;
  kvMiB: number;
}

export interface RpcSpread {
  devices: RpcDeviceShare[];
  /** What stayed on this machine (weights mapped from the file, on the CPU). */
  hostWeightsMiB?: number;
  layers?: { offloaded: number; of: number };
}

/** The last load in the log (a restarted server's log starts again; a router's children append). */
export function readRpcSpread(log: string): RpcSpread {
  const starts = [...log.matchAll(/load_model: loading model|llama_model_loader: loaded meta data/g)];
  const text = starts.length ? log.slice(starts[starts.length - 1]!.index) : log;
  // Buffers are named "RPC<n>[endpoint]" with the device's number on its own worker (every
  // worker's first device is RPC0), so the endpoint tells them apart; the device's name in this
  // server is in its "using device RPC<n> (endpoint)" line.
  const names = new Map([...text.matchAll(/using device (RPC\d+) \(([^)]+)\)/g)].map(([, device, endpoint]) => [endpoint!, device!]));
  const devices = new Map<string, RpcDeviceShare>();
  const share = (device: string, endpoint: string) => {
    const known = devices.get(endpoint) ?? { device: names.get(endpoint) ?? device, endpoint, weightsMiB: 0, kvMiB: 0 };
    devices.set(endpoint, known);
    return known;
  };
  for (const [, device, endpoint, size] of text.matchAll(/load_tensors: (RPC\d+)\[([^\]]+)\] model buffer size =\s+([\d.]+) MiB/g)) share(device!, endpoint!).weightsMiB += Number(size);
  for (const [, device, endpoint, size] of text.matchAll(/llama_kv_cache: (RPC\d+)\[([^\]]+)\] KV buffer size =\s+([\d.]+) MiB/g)) share(device!, endpoint!).kvMiB += Number(size);
  const host = /load_tensors:\s+CPU(?:_Mapped)? model buffer size =\s+([\d.]+) MiB/.exec(text);
  const layers = [...text.matchAll(/offloaded (\d+)\/(\d+) layers to GPU/g)].pop();
  return {
    devices: [...devices.values()],
    ...(host ? { hostWeightsMiB: Number(host[1]) } : {}),
    ...(layers ? { layers: { offloaded: Number(layers[1]), of: Number(layers[2]) } } : {}),
  };
}

/** One line for step 40 and make status; `missing` lists workers of the plan that hold nothing. */
export function describeSpread(spread: RpcSpread, workers: readonly RpcWorker[]): { line: string; missing: string[] } {
  const named = new Set(spread.devices.map((d) => d.endpoint));
  const missing = workers.map((w) => w.endpoint).filter((endpoint) => !named.has(endpoint));
  const mib = (n: number) => `${Math.round(n)} MiB`;
  const parts = spread.devices.map((d) => `${d.device} ${d.endpoint} ${mib(d.weightsMiB)} of weights + ${mib(d.kvMiB)} KV`);
  if (spread.hostWeightsMiB !== undefined) parts.push(`this machine ${mib(spread.hostWeightsMiB)} of weights`);
  const layers = spread.layers ? `${spread.layers.offloaded}/${spread.layers.of} layers on the RPC workers` : 'no loading report yet';
  return { line: `${layers}: ${parts.join('; ') || 'nothing'}${missing.length ? `; holding nothing: ${missing.join(', ')}` : ''}`, missing };
}
