import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serverArgs, serverConfig } from '../../../../scripts/lib/backend/llama-cpp-python/args.ts';
import { configFacts } from '../../../../scripts/lib/fingerprint.ts';
import { planOf as plan } from '../../../helpers.ts';

describe("llama_cpp.server's argv and config file", () => {
  it('starts the server with embeddings on, pooled, on the profile\'s host and port, raw flags last', () => {
    const p = plan('flags', { HOME: '/h' }, { flags: 'extends: default\nserver:\n  n_threads: 2\n  extra_args: ["--n_batch", "256"]\n' });
    const args = serverArgs(p, { modelPath: '/m.gguf', bindHost: true });
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    assert.equal(value('--embedding'), 'true');
    assert.equal(value('--pooling'), 'mean');
    assert.equal(value('--host'), '127.0.0.1');
    assert.equal(value('--port'), '8080');
    assert.equal(value('--n_threads'), '2');
    assert.deepEqual(args.slice(-2), ['--n_batch', '256']);
    assert.ok(!serverArgs(p, { modelPath: '/m.gguf', bindHost: false }).includes('--host'), 'in a container HOST comes from the image');
  });

  it('gives llama_cpp.server several models through a config file with each pooling and no key', () => {
    const config = serverConfig(plan('k', { HOME: '/h' }, { k: 'extends: two-models\nserver:\n  backend: llama-cpp-python\n  api_key: generate\n  port: 8123\n' })) as { models: Record<string, unknown>[]; port: number };
    assert.equal(config.port, 8123, "the profile's port, not the default");
    assert.deepEqual(config.models.map((m) => [m.model_alias, m.pooling, m.embedding, m.chat_format]), [['smollm2-135m-instruct', 'mean', true, 'chatml'], ['gemma3-270m', 'mean', true, 'gemma']]);
    assert.ok(!JSON.stringify(config).match(/api.?key/i), 'no key in the config file');
    assert.equal(configFacts(config)['models[1].model_alias'], 'gemma3-270m');
  });
});
