import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runningServers } from '../../../scripts/lib/runtime/index.ts';
import { processStartTime } from '../../../scripts/lib/state/process-identity.ts';
import { describeServing, otherProfileOnPort, servingRecords, writeServingRecord, type ServingRecord } from '../../../scripts/lib/state/serving.ts';
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
