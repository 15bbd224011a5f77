import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runningServers } from '../../../scripts/lib/runtime/index.ts';
import { processStartTime } from '../../../scripts/lib/state/process-identity.ts';
import { coreSharers, describeServing, otherProfileOnPort, servingRecords, writeServingRecord, type ServingRecord } from '../../../scripts/lib/state/serving.ts';
import { tempDir } from '../../helpers.ts';

const record = (profile: string, handle: ServingRecord['handle']): ServingRecord => ({
  profile,
  profileFiles: [`env/${profile}.yml`],
  url: 'http://127.0.0.1:20001/v1',
  handle,
  models: [{ id: 'abcdef0123456789', path: '/cache/models/abcdef0123456789/m.gguf' }],
  startedAt: '2026-12-06T00:00:00.000Z',
});

describe('what runs, from the state folders (make models-rm without the profile)', () => {
  it("lists every profile's record under the state root, and only live ones as running", async () => {
    const root = tempDir('wb-serving-');
    writeServingRecord(join(root, 'alive'), record('alive', { kind: 'process', pid: process.pid, startTime: processStartTime(process.pid)! }));
    // The same pid with another start time: a recycled pid is not our server.
    writeServingRecord(join(root, 'recycled'), record('recycled', { kind: 'process', pid: process.pid, startTime: '1' }));
    // A container whose engine is not on this machine any more.
    writeServingRecord(join(root, 'gone-engine'), record('gone-engine', { kind: 'container', engine: 'podman', binary: '/nonexistent/podman', name: 'llm-workbench-x' }));
    mkdirSync(join(root, 'broken'));
    writeFileSync(join(root, 'broken', 'serving.json'), '{ not json');
    assert.deepEqual(servingRecords(root).map((r) => r.profile).sort(), ['alive', 'gone-engine', 'recycled']);
    const running = await runningServers(root);
    assert.deepEqual(running.map((r) => r.profile), ['alive']);
    assert.equal(describeServing(running[0]!), `profile alive (pid ${process.pid}, http://127.0.0.1:20001/v1)`);
  });

  it('says a container by its engine and name', () => {
    assert.equal(describeServing(record('c', { kind: 'container', engine: 'docker', binary: '/usr/bin/docker', name: 'llm-workbench-c' })), 'profile c (docker container llm-workbench-c, http://127.0.0.1:20001/v1)');
  });

  it('is empty where no state root exists yet', async () => {
    assert.deepEqual(await runningServers('/nonexistent/state'), []);
  });

  it("names another profile of ours that holds a port, live ones only, never the profile itself", () => {
    const root = tempDir('wb-serving-');
    writeServingRecord(join(root, 'default'), record('default', { kind: 'process', pid: process.pid, startTime: processStartTime(process.pid)! }));
    writeServingRecord(join(root, 'dead'), { ...record('dead', { kind: 'process', pid: process.pid, startTime: '1' }), url: 'http://127.0.0.1:20002/v1' });
    assert.equal(otherProfileOnPort(root, 20001, 'llama-cpp-python')?.profile, 'default');
    assert.equal(otherProfileOnPort(root, 20001, 'default'), undefined, 'its own server is not another profile');
    assert.equal(otherProfileOnPort(root, 20002, 'x'), undefined, 'a dead server holds nothing');
    assert.equal(otherProfileOnPort(root, 20003, 'x'), undefined);
  });
});

describe('whom a server shares the cores with (n_threads: auto)', () => {
  const alive = { kind: 'process', pid: process.pid, startTime: processStartTime(process.pid)! } as const;
  const at = (profile: string, startedAt: string, handle: ServingRecord['handle'] = alive): ServingRecord => ({ ...record(profile, handle), startedAt });

  it("counts every other profile's live server while this one is not serving, oldest first, and never a dead one", () => {
    const root = tempDir('wb-serving-');
    writeServingRecord(join(root, 'b'), at('b', '2026-12-06T10:00:02.000Z'));
    writeServingRecord(join(root, 'a'), at('a', '2026-12-06T10:00:01.000Z'));
    writeServingRecord(join(root, 'dead'), at('dead', '2026-12-06T10:00:00.000Z', { kind: 'process', pid: process.pid, startTime: '1' }));
    writeServingRecord(join(root, 'box'), at('box', '2026-12-06T10:00:03.000Z', { kind: 'container', engine: 'podman', binary: '/usr/bin/podman', name: 'llm-workbench-box' }));
    assert.deepEqual(coreSharers(root, 'mine').map((s) => s.profile), ['a', 'b', 'box']);
    assert.deepEqual(coreSharers(root, 'a').map((s) => s.profile), [], "a serves and was first: the others took their share of the cores after it");
    assert.deepEqual(coreSharers(root, 'b').map((s) => s.profile), ['a']);
  });

  it('ignores its own record when that server is gone: the next start counts everyone', () => {
    const root = tempDir('wb-serving-');
    writeServingRecord(join(root, 'a'), at('a', '2026-12-06T10:00:05.000Z'));
    writeServingRecord(join(root, 'mine'), at('mine', '2026-12-06T10:00:01.000Z', { kind: 'process', pid: process.pid, startTime: '1' }));
    assert.deepEqual(coreSharers(root, 'mine').map((s) => s.profile), ['a']);
  });

  it('is nobody on a machine where nothing of ours serves', () => {
    assert.deepEqual(coreSharers('/nonexistent/state', 'default'), []);
  });
});
