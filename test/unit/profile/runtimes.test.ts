import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACCELERATOR_NAMES } from '../../../scripts/lib/accelerator/index.ts';
import { BACKEND_NAMES } from '../../../scripts/lib/backend/index.ts';
import { ENGINE_NAMES } from '../../../scripts/lib/engine/index.ts';
import { RUNTIME_NAMES, runtimeTraits } from '../../../scripts/lib/profile/runtimes.ts';
import { profileJsonSchema } from '../../../scripts/lib/profile/schema.ts';
import { planOf } from '../../helpers.ts';

describe("each runtime's traits", () => {
  it('native builds on the host and serves several models; a container has an image step, logs to its engine, serves one', () => {
    assert.deepEqual(runtimeTraits('native'), { buildsOnHost: true, inContainer: false, hasImageStep: false, servesSeveralModels: true, logsTo: 'state-file' });
    assert.deepEqual(runtimeTraits('container'), { buildsOnHost: false, inContainer: true, hasImageStep: true, servesSeveralModels: false, logsTo: 'engine' });
  });

  it('reach the plan, where the steps read them', () => {
    assert.deepEqual(planOf('elyza-7b').runtimeTraits, runtimeTraits('container'));
    assert.deepEqual(planOf('default').runtimeTraits, runtimeTraits('native'));
  });
});

describe("the schema's names", () => {
  it('come from the registries: a new backend, accelerator, engine or runtime is one a profile may name', () => {
    const schema = profileJsonSchema() as { properties: Record<string, { enum?: string[]; properties?: Record<string, { enum?: string[] }> }> };
    assert.deepEqual(schema.properties.runtime!.enum, RUNTIME_NAMES);
    assert.deepEqual(schema.properties.server!.properties!.backend!.enum, BACKEND_NAMES);
    assert.deepEqual(schema.properties.accelerator!.properties!.kind!.enum, ['auto', ...ACCELERATOR_NAMES]);
    assert.deepEqual(schema.properties.container!.properties!.engine!.enum, ['auto', ...ENGINE_NAMES]);
  });
});
