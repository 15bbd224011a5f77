import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DOCKER_DEVICES, dockerEngine } from '../../../scripts/lib/engine/docker.ts';
import { buildArgv, runArgv } from '../../../scripts/lib/engine/driver.ts';
import { PODMAN_DEVICES, podmanEngine } from '../../../scripts/lib/engine/podman.ts';
import type { RunSpec } from '../../../scripts/lib/engine/types.ts';

const spec: RunSpec = {
  name: 'llm-workbench-x',
  image: 'localhost/llm-workbench:abc',
  ports: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 8080 }, { hostIp: '::1', hostPort: 8081, containerPort: 8080 }],
  volumes: [{ host: '/models', container: '/models', readOnly: true }],
  env: { USE_MLOCK: '0' },
  passEnv: ['API_KEY'],
  capAdd: ['SYS_RESOURCE'],
  devices: [],
  restart: 'unless-stopped',
  labels: { 'io.llm-workbench.profile': 'x' },
};

describe('the container engine argv', () => {
  it('publishes on the host address (IPv6 in brackets), mounts read-only, passes secrets by name only', () => {
    const argv = runArgv(spec, PODMAN_DEVICES);
    const after = (flag: string) => argv.filter((_, i) => argv[i - 1] === flag);
    assert.deepEqual(after('--publish'), ['127.0.0.1:8080:8080', '[::1]:8081:8080']);
    assert.deepEqual(after('--volume'), ['/models:/models:ro']);
    assert.deepEqual(after('--env'), ['USE_MLOCK=0', 'API_KEY']);
    assert.equal(argv[argv.length - 1], 'localhost/llm-workbench:abc');
    assert.equal(argv.includes('--device') || argv.includes('--gpus'), false, 'a CPU container is given no device');
  });

  it('gives a GPU the way each engine spells it: podman through CDI, docker through NVIDIA\'s runtime, /dev/dri for both', () => {
    const gpu = (devices: RunSpec['devices'], spelling = PODMAN_DEVICES) => {
      const argv = runArgv({ ...spec, devices }, spelling);
      return argv.slice(argv.indexOf('--cap-add') + 2, argv.indexOf('--label'));
    };
    assert.deepEqual(gpu(['nvidia']), ['--device', 'nvidia.com/gpu=all']);
    assert.deepEqual(gpu(['nvidia'], DOCKER_DEVICES), ['--gpus', 'all']);
    assert.deepEqual(gpu(['dri']), ['--device', '/dev/dri']);
    assert.deepEqual(gpu(['dri'], DOCKER_DEVICES), ['--device', '/dev/dri']);
    assert.deepEqual(PODMAN_DEVICES.compose('nvidia'), { devices: ['nvidia.com/gpu=all'] });
    assert.deepEqual(DOCKER_DEVICES.compose('nvidia'), { deploy: { resources: { reservations: { devices: [{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }] } } } });
  });

  it("runs a systemd unit's container in the foreground, removed when it ends: podman replaces a leftover itself, docker's unit removes it first", () => {
    const podman = podmanEngine('/usr/bin/podman').unitCommands(spec);
    assert.deepEqual(podman.start.slice(0, 6), ['/usr/bin/podman', 'run', '--rm', '--replace', '--name', 'llm-workbench-x']);
    assert.deepEqual(podman.before, []);
    assert.deepEqual(podman.stop, ['/usr/bin/podman', 'stop', '--time', '20', 'llm-workbench-x']);
    const docker = dockerEngine('/usr/bin/docker').unitCommands(spec);
    assert.deepEqual(docker.start.slice(0, 5), ['/usr/bin/docker', 'run', '--rm', '--name', 'llm-workbench-x']);
    assert.deepEqual(docker.before, [['/usr/bin/docker', 'rm', '--force', 'llm-workbench-x']]);
    for (const { start } of [podman, docker]) {
      assert.equal(start.includes('--detach') || start.includes('--restart'), false, 'systemd supervises and restarts it');
      assert.deepEqual(start.filter((_, i) => start[i - 1] === '--env'), ['USE_MLOCK=0', 'API_KEY'], 'the key by name only');
      assert.equal(start.at(-1), 'localhost/llm-workbench:abc');
    }
  });

  it('mounts the compiler cache into a build only where the engine has build volumes (podman)', () => {
    const spec = { context: '/b', tags: ['t:1'], volumes: [{ host: '/c/ccache', container: '/var/cache/llm-workbench/ccache', readOnly: false }], logFile: '/l' };
    assert.deepEqual(buildArgv(spec, { volumes: true }).slice(3, 5), ['--volume', '/c/ccache:/var/cache/llm-workbench/ccache']);
    assert.equal(buildArgv(spec, { volumes: false }).includes('--volume'), false);
  });

  it('builds a target with secrets by file, on the network asked for', () => {
    const argv = buildArgv({ context: '/b', tags: ['t:1', 't:p'], target: 'server', network: 'host', secrets: { 'ca-bundle': '/etc/ca.crt' }, logFile: '/l' });
    assert.deepEqual(argv, ['build', '--file', '/b/Dockerfile', '--network', 'host', '--tag', 't:1', '--tag', 't:p', '--target', 'server', '--secret', 'id=ca-bundle,src=/etc/ca.crt', '/b']);
  });
});
