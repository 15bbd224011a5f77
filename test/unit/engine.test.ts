import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildArgv, runArgv } from '../../scripts/lib/engine/driver.ts';

describe('the container engine argv', () => {
  it('publishes on the host address (IPv6 in brackets), mounts read-only, passes secrets by name only', () => {
    const argv = runArgv({
      name: 'llm-workbench-x',
      image: 'localhost/llm-workbench:abc',
      ports: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 8080 }, { hostIp: '::1', hostPort: 8081, containerPort: 8080 }],
      volumes: [{ host: '/models', container: '/models', readOnly: true }],
      env: { USE_MLOCK: '0' },
      passEnv: ['API_KEY'],
      capAdd: ['SYS_RESOURCE'],
      restart: 'unless-stopped',
      labels: { 'io.llm-workbench.profile': 'x' },
    });
    const after = (flag: string) => argv.filter((_, i) => argv[i - 1] === flag);
    assert.deepEqual(after('--publish'), ['127.0.0.1:8080:8080', '[::1]:8081:8080']);
    assert.deepEqual(after('--volume'), ['/models:/models:ro']);
    assert.deepEqual(after('--env'), ['USE_MLOCK=0', 'API_KEY']);
    assert.equal(argv[argv.length - 1], 'localhost/llm-workbench:abc');
  });

  it('builds a target with secrets by file, on the network asked for', () => {
    const argv = buildArgv({ context: '/b', tags: ['t:1', 't:p'], target: 'server', network: 'host', secrets: { 'ca-bundle': '/etc/ca.crt' }, logFile: '/l' });
    assert.deepEqual(argv, ['build', '--file', '/b/Dockerfile', '--network', 'host', '--tag', 't:1', '--tag', 't:p', '--target', 'server', '--secret', 'id=ca-bundle,src=/etc/ca.crt', '/b']);
  });
});
