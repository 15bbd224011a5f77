/**
 * A model spread over two llama.cpp RPC workers, each on a host of its own: two network
 * namespaces of this machine, joined to it by veth pairs with addresses of our own
 * (10.231.x.0/30), an rpc-server in each started by `make rpc-worker` run inside it. The default
 * model is served from this host with its layers on the two workers; the traffic stays on those
 * links. Needs root (namespaces), as the services test does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { readRecord } from '../../scripts/lib/process/background.ts';
import { REPO_ROOT } from '../helpers.ts';
import { childrenOf, isAlive, make, newWorld, worldProfiles, type World } from './support.ts';

const WORKER_PORT = 50052;

interface Host {
  ns: string;
  /** The veth end on this machine, and the one inside the namespace. */
  outside: string;
  inside: string;
  address: string;
  world: World;
}

const octet = 100 + (process.pid % 70) * 2;
const hosts: Host[] = ['a', 'b'].map((tag, i) => ({
  ns: `wb${process.pid}${tag}`,
  outside: `wb${process.pid}${tag}0`,
  inside: `wb${process.pid}${tag}1`,
  address: `10.231.${octet + i}.2`,
  world: newWorld(),
}));

const server = newWorld();
const workers = hosts.map((h) => `${h.address}:${WORKER_PORT}`);
const PROFILE = `extends: default\nserver:\n  port: ${server.ports.server}\njupyter:\n  enabled: false\ndistributed:\n  rpc_workers: [${workers.map((w) => `"${w}"`).join(', ')}]\n`;

async function ip(...args: string[]) {
  return execa('ip', args);
}

/** `make` inside a host's namespace, as a user on that machine would type it. */
function makeIn(host: Host, targets: string, vars: Record<string, string> = {}) {
  return execa('ip', ['netns', 'exec', host.ns, 'make', '--no-print-directory', '-s', ...targets.split(' '), ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)], {
    cwd: REPO_ROOT,
    env: host.world.env,
    extendEnv: false,
    reject: false,
    all: true,
    timeout: 900_000,
  });
}

/** The TCP listeners in a namespace (or on this machine): "address:port" per line. */
async function listeners(ns?: string): Promise<string[]> {
  const { stdout } = ns ? await execa('ip', ['netns', 'exec', ns, 'ss', '-ltnH']) : await execa('ss', ['-ltnH']);
  return stdout.split('\n').filter(Boolean).map((line) => line.trim().split(/\s+/)[3] as string);
}

const txBytes = (device: string) => Number(readFileSync(`/sys/class/net/${device}/statistics/tx_bytes`, 'utf8'));

describe('a model spread over two RPC workers on hosts of their own (network namespaces)', () => {
  before(async () => {
    for (const [i, host] of hosts.entries()) {
      await ip('netns', 'add', host.ns);
      await ip('link', 'add', host.outside, 'type', 'veth', 'peer', 'name', host.inside);
      await ip('link', 'set', host.inside, 'netns', host.ns);
      await ip('addr', 'add', `10.231.${octet + i}.1/30`, 'dev', host.outside);
      await ip('link', 'set', host.outside, 'up');
      await ip('netns', 'exec', host.ns, 'ip', 'addr', 'add', `${host.address}/30`, 'dev', host.inside);
      await ip('netns', 'exec', host.ns, 'ip', 'link', 'set', host.inside, 'up');
      await ip('netns', 'exec', host.ns, 'ip', 'link', 'set', 'lo', 'up');
      worldProfiles(host.world, { rpc: PROFILE });
    }
    worldProfiles(server, { rpc: PROFILE });
  });

  after(async () => {
    await make(server, 'down', { PROFILE: 'rpc' });
    for (const host of hosts) {
      await makeIn(host, 'down', { PROFILE: 'rpc' });
      await execa('ip', ['netns', 'del', host.ns], { reject: false });
      await execa('ip', ['link', 'del', host.outside], { reject: false });
    }
  });

  it('starts a worker on each host bound to the address it is given, never to every interface', async () => {
    // The namespaces reach nothing but this machine: the programs are built here first (step 15
    // builds the worker's with the server's), into the cache the workers' make then finds.
    const built = await make(server, 'server-build', { PROFILE: 'rpc' });
    assert.equal(built.exitCode, 0, built.all);
    assert.match(built.stdout, /^15-server-build\s+(created|unchanged)\s+.*; ggml-rpc-server for make rpc-worker$/m);
    for (const host of hosts) {
      const started = await makeIn(host, 'rpc-worker', { PROFILE: 'rpc', RPC_HOST: host.address });
      assert.equal(started.exitCode, 0, started.all);
      assert.match(started.stdout, new RegExp(`^rpc-worker\\s+created\\s+[\\d.]+s\\s+rpc-server on ${host.address.replaceAll('.', '\\.')}:${WORKER_PORT} \\(pid \\d+, cpu, \\d+ threads\\); unauthenticated`, 'm'));
      const listening = (await listeners(host.ns)).filter((l) => l.endsWith(`:${WORKER_PORT}`));
      assert.deepEqual(listening, [`${host.address}:${WORKER_PORT}`], `listeners in ${host.ns}`);
    }
    assert.deepEqual((await listeners()).filter((l) => l.endsWith(`:${WORKER_PORT}`)), [], 'no worker listens on this machine itself');
    // A second make rpc-worker finds it running, unchanged.
    const again = await makeIn(hosts[0]!, 'rpc-worker', { PROFILE: 'rpc', RPC_HOST: hosts[0]!.address });
    assert.match(again.stdout, /^rpc-worker\s+unchanged/m, again.all);
  });

  it('serves the default model with its layers on both workers: the loading report names them, the weights went over their links, the smoke checks pass', async () => {
    const before = hosts.map((h) => txBytes(h.outside));
    const up = await make(server, 'provision', { PROFILE: 'rpc' });
    assert.equal(up.exitCode, 0, up.all);
    const line = /^40-model-server\s+created\s+.*$/m.exec(up.stdout)?.[0] ?? '';
    assert.match(line, /\d+\/\d+ layers on the RPC workers: /, up.stdout);
    for (const [i, worker] of workers.entries()) assert.match(line, new RegExp(`RPC${i} ${worker.replaceAll('.', '\\.')} \\d+ MiB of weights \\+ \\d+ MiB KV`), line);
    assert.match(up.stdout, /^70-smoke\s+unchanged\s+[\d.]+s\s+\d+ checks passed/m);
    // Each worker received its share of the model (tens of MB) over its own link.
    for (const [i, host] of hosts.entries()) assert.ok(txBytes(host.outside) - before[i]! > 20_000_000, `${host.outside} carried ${txBytes(host.outside) - before[i]!} bytes`);
    const status = await make(server, 'status', { PROFILE: 'rpc' });
    assert.equal(status.exitCode, 0, status.all);
    assert.match(status.stdout, /^model-server: \d+\/\d+ layers on the RPC workers: RPC0 10\.231\.\d+\.2:50052 .*RPC1 10\.231\.\d+\.2:50052/m);
    // On the worker's own machine, make status says it serves a llama-server.
    const workerStatus = await makeIn(hosts[0]!, 'status', { PROFILE: 'rpc' });
    assert.match(workerStatus.stdout, new RegExp(`^rpc-worker\\s+\\d+\\s+rpc://${hosts[0]!.address.replaceAll('.', '\\.')}:${WORKER_PORT}\\s+yes\\s+busy`, 'm'), workerStatus.stdout);
  });

  it('ends a streamed answer with an error within seconds when a worker is killed mid-answer, names the dropped worker, and refuses to start without it', async () => {
    const record = readRecord(join(hosts[1]!.world.state, 'rpc', 'rpc-worker.json'))!;
    const [rpcServer] = childrenOf(record.pid);
    assert.ok(rpcServer && isAlive(rpcServer), 'rpc-server runs under its exit-status shell');
    const response = await fetch(`http://127.0.0.1:${server.ports.server}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Write a long story about a lighthouse keeper.' }], stream: true, max_tokens: 1500 }),
    });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.ok(!first.done && first.value.length > 0, 'the answer started');
    process.kill(rpcServer, 'SIGKILL');
    const killed = Date.now();
    let text = '';
    let failure: unknown;
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += Buffer.from(chunk.value).toString();
      }
    } catch (error) {
      failure = error;
    }
    const seconds = (Date.now() - killed) / 1000;
    assert.ok(seconds < 10, `the stream ended ${seconds} s after the worker was killed`);
    assert.ok(failure !== undefined || !text.includes('[DONE]'), 'the stream did not end as a finished answer');
    console.log(`# a worker killed mid-answer: the stream ended after ${seconds.toFixed(2)} s (${failure ? String(failure) : 'cut without [DONE]'})`);
    const status = await make(server, 'status', { PROFILE: 'rpc' });
    assert.notEqual(status.exitCode, 0, status.all);
    assert.match(status.stdout, /^model-server: an RPC worker dropped while it served .*; now: 10\.231\.\d+\.2:50052 cannot be reached \(ECONNREFUSED\)/m);
    assert.ok(status.stdout.includes(workers[1]!) && !status.stdout.includes(`${workers[0]!} cannot`), status.stdout);
    assert.match(status.stdout, /crashed: killed by SIGABRT/);
    // Started again without the worker: refused before llama-server runs, naming the one missing.
    const again = await make(server, 'server', { PROFILE: 'rpc' });
    assert.notEqual(again.exitCode, 0);
    assert.match(again.stderr, new RegExp(`error: the RPC worker of distributed\\.rpc_workers: ${workers[1]!.replaceAll('.', '\\.')} cannot be reached \\(ECONNREFUSED\\)`));
    assert.match(again.stderr, /hint: start each with make rpc-worker PROFILE=rpc RPC_HOST=<its address> on its machine/);
    // The worker back: the server starts and answers.
    assert.equal((await makeIn(hosts[1]!, 'rpc-worker', { PROFILE: 'rpc', RPC_HOST: hosts[1]!.address })).exitCode, 0);
    const back = await make(server, 'server', { PROFILE: 'rpc' });
    assert.equal(back.exitCode, 0, back.all);
    const models = await fetch(`http://127.0.0.1:${server.ports.server}/v1/models`);
    assert.equal(models.status, 200);
  });

  it("measures in make bench what the network costs: decode over the workers against the same build on this machine alone", async () => {
    // Trimmed to the RPC figure and what every bench runs (one stream, the profile's backend).
    const bench = await make(server, 'bench', { PROFILE: 'rpc', BENCH_RUNS: '1', BENCH_MAX_TOKENS: '32', BENCH_CONCURRENCY: '1', BENCH_BACKENDS: 'own', BENCH_SPECULATION: 'none', BENCH_EMBEDDINGS: 'none' });
    assert.equal(bench.exitCode, 0, bench.all);
    const report = JSON.parse(readFileSync(join(server.env.LLM_WORKBENCH_BUILD_DIR!, 'rpc', 'bench', 'bench.json'), 'utf8'));
    assert.deepEqual(report.rpc.workers, workers);
    assert.match(report.rpc.spread, /RPC0 .*RPC1 /);
    for (const side of ['overRpc', 'oneHost']) assert.ok(report.rpc[side].decodeTokensPerSecond.mean > 0, `${side}: ${JSON.stringify(report.rpc[side].decodeTokensPerSecond)}`);
    assert.ok(Math.abs(report.rpc.decodeRatio - report.rpc.overRpc.decodeTokensPerSecond.mean / report.rpc.oneHost.decodeTokensPerSecond.mean) < 1e-9);
    assert.match(readFileSync(join(server.env.LLM_WORKBENCH_BUILD_DIR!, 'rpc', 'bench', 'bench.md'), 'utf8'), /## Over RPC workers against one host: the network's cost/);
    console.log(`# over two RPC workers on namespaces: decode ${report.rpc.overRpc.decodeTokensPerSecond.mean.toFixed(1)} tokens/s against ${report.rpc.oneHost.decodeTokensPerSecond.mean.toFixed(1)} on one host (${report.rpc.decodeRatio.toFixed(2)}x); TTFT p50 ${report.rpc.overRpc.ttftMs.p50.toFixed(0)} against ${report.rpc.oneHost.ttftMs.p50.toFixed(0)} ms`);
  });

  it("stops a machine's worker with make clean, whose state folder held its record", async () => {
    const host = hosts[0]!;
    const cleaned = await makeIn(host, 'clean', { PROFILE: 'rpc' });
    assert.equal(cleaned.exitCode, 0, cleaned.all);
    assert.deepEqual((await listeners(host.ns)).filter((l) => l.endsWith(`:${WORKER_PORT}`)), [], `a worker still listens in ${host.ns}`);
  });
});
