import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cmakeBuildKey, llamaCppCmakeArgs } from '../../../scripts/lib/llama-cpp/cmake-build.ts';
import { planOf } from '../../helpers.ts';

const profile = (distributed: string, rest = '') => ({ rpc: `extends: default\n${rest}distributed:\n${distributed}` });
const plan = (distributed: string, env: Record<string, string> = { HOME: '/h' }, rest = '') => planOf('rpc', env, profile(distributed, rest));

describe('a model spread over RPC workers (distributed:)', () => {
  it('passes the workers to llama-server with --rpc, builds llama.cpp with GGML_RPC under a key of its own, and leaves the default build as it was', () => {
    const p = plan('  rpc_workers: ["10.0.0.2:50052", "worker-b.lan:50053"]\n');
    const argv = p.server.command.argv;
    assert.equal(argv[argv.indexOf('--rpc') + 1], '10.0.0.2:50052,worker-b.lan:50053');
    // The loading report (which device holds what) is at trace verbosity in this llama.cpp.
    assert.equal(argv[argv.indexOf('--log-verbosity') + 1], '4');
    assert.deepEqual(p.distributed?.workers, [
      { host: '10.0.0.2', port: 50052, endpoint: '10.0.0.2:50052' },
      { host: 'worker-b.lan', port: 50053, endpoint: 'worker-b.lan:50053' },
    ]);
    assert.ok(llamaCppCmakeArgs(p).includes('-DGGML_RPC=ON'));
    const base = planOf('default', { HOME: '/h' });
    assert.ok(!llamaCppCmakeArgs(base).includes('-DGGML_RPC=ON'));
    assert.ok(!base.server.command.argv.includes('--rpc'));
    assert.notEqual(cmakeBuildKey(p, ['llama-server']), cmakeBuildKey(base, ['llama-server']));
  });

  it('runs make rpc-worker on loopback by default, on the address RPC_HOST / RPC_PORT name, with the profile\'s threads and cache', () => {
    const local = plan('  worker:\n    threads: 3\n    cache: true\n');
    assert.deepEqual(local.distributed?.workers, []);
    const command = local.distributed!.worker.command;
    assert.match(command[0]!, /\/rpc-server\/llama\.cpp-[^/]+\/ggml-rpc-server$/);
    assert.deepEqual(command.slice(1), ['--host', '127.0.0.1', '--port', '50052', '--threads', '3', '--cache']);
    const named = plan('  worker:\n    host: 10.0.0.2\n', { HOME: '/h', RPC_HOST: '192.168.7.3', RPC_PORT: '50100' });
    assert.deepEqual(named.distributed!.worker.command.slice(1, 5), ['--host', '192.168.7.3', '--port', '50100']);
    assert.equal(named.distributed!.worker.endpoint, '192.168.7.3:50100');
  });

  it('never binds a worker to every interface, from the profile or from RPC_HOST, and says why', () => {
    assert.throws(() => plan('  worker:\n    host: 0.0.0.0\n'), /distributed\.worker\.host.*not every interface: rpc-server has no authentication/s);
    assert.throws(() => plan('  worker: {}\n', { HOME: '/h', RPC_HOST: '0.0.0.0' }), (error: Error & { hint?: string }) => /^RPC_HOST=0\.0\.0\.0 must be one address of this machine/.test(error.message) && /distributed\.worker/.test(error.hint ?? ''));
    assert.throws(() => plan('  worker: {}\n', { HOME: '/h', RPC_PORT: '70000' }), /RPC_PORT=70000 must be a port between 1 and 65535/);
  });

  it('refuses worker addresses ggml-rpc cannot use or that make no sense, naming the field', () => {
    assert.throws(() => plan('  rpc_workers: ["[::1]:50052"]\n'), /distributed\.rpc_workers.*IPv6 literal/s);
    assert.throws(() => plan('  rpc_workers: ["10.0.0.2"]\n'), /distributed\.rpc_workers.*must be host:port/s);
    assert.throws(() => plan('  rpc_workers: ["0.0.0.0:50052"]\n'), /not 0\.0\.0\.0/);
    assert.throws(() => plan('  rpc_workers: ["10.0.0.2:50052", "10.0.0.2:50052"]\n'), /lists 10\.0\.0\.2:50052 twice/);
    assert.throws(() => plan('  rpc_workers: ["10.0.0.2:50052; rm -rf /"]\n'), /must be host:port/);
  });

  it('refuses workers where they cannot serve: llama_cpp.server, a container, several models', () => {
    const workers = '  rpc_workers: ["10.0.0.2:50052"]\n';
    assert.throws(() => plan(workers, { HOME: '/h' }, 'server:\n  backend: llama-cpp-python\n'), /llama-cpp-python cannot spread a model over RPC workers/);
    assert.throws(() => plan(workers, { HOME: '/h' }, 'runtime: container\n'), /runtime: container serves from an image/);
    assert.throws(() => plan(workers, { HOME: '/h' }, 'extra_models:\n  - source: file:/m.gguf\n    alias: m2\n'), /cannot go with extra_models: rpc-server serves one llama-server at a time/);
  });

  it('takes --rpc only from distributed.rpc_workers, not from server.extra_args', () => {
    assert.throws(() => planOf('x', { HOME: '/h' }, { x: 'extends: default\nserver:\n  extra_args: ["--rpc", "10.0.0.2:50052"]\n' }), /--rpc is set by the profile, not by extra_args: use distributed\.rpc_workers/);
  });
});
