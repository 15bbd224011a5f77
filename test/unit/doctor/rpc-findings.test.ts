import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rpcFindings } from '../../../scripts/lib/doctor/preflight.ts';
import { planOf } from '../../helpers.ts';

const plan = (distributed: string, env: Record<string, string> = { HOME: '/h' }) => planOf('rpc', env, { rpc: `extends: default\ndistributed:\n${distributed}` });

describe("make doctor on llama.cpp's RPC (doctor/preflight.ts rpcFindings)", () => {
  it('says nothing for a profile without distributed', () => {
    assert.deepEqual(rpcFindings(planOf('default')), []);
  });

  it('warns that the workers are unauthenticated and unencrypted, naming them, and says what to put in front of them', () => {
    const [workers, worker] = rpcFindings(plan('  rpc_workers: ["10.0.0.2:50052", "10.0.0.3:50052"]\n'));
    assert.equal(workers!.status, 'warn');
    assert.match(workers!.detail, /10\.0\.0\.2:50052, 10\.0\.0\.3:50052: unauthenticated and unencrypted/);
    assert.match(workers!.fix!, /WireGuard or another VPN.*ssh -L/);
    // This machine as a worker binds loopback by default: reached by this machine only.
    assert.equal(worker!.status, 'info');
    assert.match(worker!.detail, /binds 127\.0\.0\.1:50052: loopback/);
  });

  it('warns when this machine as a worker binds an address others reach (the profile or RPC_HOST)', () => {
    const [worker] = rpcFindings(plan('  worker: {}\n', { HOME: '/h', RPC_HOST: '192.168.1.20' }));
    assert.equal(worker!.status, 'warn');
    assert.match(worker!.detail, /binds 192\.168\.1\.20:50052: anyone who reaches it can run work on this machine/);
  });
});
