import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { composeDeviceSpelling, detectEngine } from '../../../scripts/lib/engine/index.ts';
import { WorkbenchError } from '../../../scripts/lib/errors.ts';
import { tempDir } from '../../helpers.ts';

/** A PATH holding fake engines: each exits with the given code for any command, printing `says`. */
function pathWith(engines: Record<string, { exit: number; says: string }>): string {
  const dir = tempDir();
  for (const [name, { exit, says }] of Object.entries(engines)) {
    const file = join(dir, name);
    writeFileSync(file, `#!/bin/sh\necho ${JSON.stringify(says)} >&2\nexit ${exit}\n`);
    chmodSync(file, 0o755);
  }
  return dir;
}

describe('choosing the container engine', () => {
  it('says what it tried when none answers, with a fix', async () => {
    const PATH = pathWith({ docker: { exit: 1, says: 'Cannot connect to the Docker daemon' } });
    await assert.rejects(detectEngine('auto', { PATH }), (error: unknown) => {
      assert.ok(error instanceof WorkbenchError);
      assert.equal(error.message, 'no container engine answers (tried docker: Cannot connect to the Docker daemon; podman: not installed)');
      assert.match(error.hint, /install Podman/);
      return true;
    });
  });

  it("asks the engine the profile names, and gives that engine's own fix when it does not answer", async () => {
    const PATH = pathWith({ docker: { exit: 0, says: '' }, podman: { exit: 125, says: 'no storage' } });
    await assert.rejects(detectEngine('podman', { PATH }), (error: unknown) => {
      assert.ok(error instanceof WorkbenchError);
      assert.equal(error.message, 'podman is installed but does not answer (podman info: no storage)');
      assert.match(error.hint, /run podman info to see what is wrong/);
      return true;
    });
    assert.equal((await detectEngine('auto', { PATH })).name, 'docker');
  });

  it("spells a GPU in compose.yaml the profile's engine's way (auto: docker compose's)", () => {
    assert.deepEqual(composeDeviceSpelling('podman').compose('nvidia'), { devices: ['nvidia.com/gpu=all'] });
    assert.ok('deploy' in composeDeviceSpelling('docker').compose('nvidia'));
    assert.deepEqual(composeDeviceSpelling('auto').compose('dri'), composeDeviceSpelling('docker').compose('dri'));
  });
});
