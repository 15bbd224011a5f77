import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeSpread, readRpcSpread } from '../../../scripts/lib/rpc/spread.ts';

/**
 * llama-server's loading report at --log-verbosity 4, two workers, as this llama.cpp prints it:
 * each worker's buffers carry its own device number (RPC0 on both), the endpoint tells them apart.
 */
const REPORT = `0.00.015.744 I srv    load_model: loading model '/m/SmolLM2-135M-Instruct.Q4_1.gguf'
0.00.270.726 I llama_prepare_model_devices: using device RPC0 (10.77.1.2:50052) (unknown id) - 24105 MiB free
0.00.270.727 I llama_prepare_model_devices: using device RPC1 (10.77.2.2:50052) (unknown id) - 24105 MiB free
0.00.433.971 I load_tensors: offloaded 31/31 layers to GPU
0.00.433.979 I load_tensors:   CPU_Mapped model buffer size =    28.69 MiB
0.00.433.981 I load_tensors: RPC0[10.77.1.2:50052] model buffer size =    47.10 MiB
0.00.433.982 I load_tensors: RPC0[10.77.2.2:50052] model buffer size =    45.00 MiB
0.00.672.775 I llama_kv_cache: RPC0[10.77.1.2:50052] KV buffer size =    96.00 MiB
0.00.672.776 I llama_kv_cache: RPC0[10.77.2.2:50052] KV buffer size =    84.00 MiB
`;

const workers = ['10.77.1.2:50052', '10.77.2.2:50052'].map((endpoint) => ({ host: endpoint.split(':')[0]!, port: 50052, endpoint }));

describe("how the server spread the model over its RPC workers (rpc/spread.ts)", () => {
  it('reads each worker\'s weights and KV cache apart (both name their buffers RPC0), what stayed here, and the layers offloaded', () => {
    const spread = readRpcSpread(REPORT);
    assert.deepEqual(spread, {
      devices: [
        { device: 'RPC0', endpoint: '10.77.1.2:50052', weightsMiB: 47.1, kvMiB: 96 },
        { device: 'RPC1', endpoint: '10.77.2.2:50052', weightsMiB: 45, kvMiB: 84 },
      ],
      hostWeightsMiB: 28.69,
      layers: { offloaded: 31, of: 31 },
    });
    const { line, missing } = describeSpread(spread, workers);
    assert.equal(line, '31/31 layers on the RPC workers: RPC0 10.77.1.2:50052 47 MiB of weights + 96 MiB KV; RPC1 10.77.2.2:50052 45 MiB of weights + 84 MiB KV; this machine 29 MiB of weights');
    assert.deepEqual(missing, []);
  });

  it('names a worker of the plan the report does not, and reads only the last load of a restarted server', () => {
    const earlier = REPORT.replaceAll('10.77.2.2', '10.77.9.9');
    const onlyOne = REPORT.split('\n').filter((line) => !line.includes('10.77.2.2')).join('\n');
    const { line, missing } = describeSpread(readRpcSpread(`${earlier}${onlyOne}`), workers);
    assert.deepEqual(missing, ['10.77.2.2:50052']);
    assert.match(line, /; holding nothing: 10\.77\.2\.2:50052$/);
    assert.doesNotMatch(line, /10\.77\.9\.9/);
  });

  it('says there is no report yet where the log has none', () => {
    assert.match(describeSpread(readRpcSpread(''), workers).line, /^no loading report yet: nothing; holding nothing: 10\.77\.1\.2:50052, 10\.77\.2\.2:50052$/);
  });
});
