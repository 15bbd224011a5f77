import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isJsonObjectPrefix, placeSchemaViolations } from '../../../checks/conformance.ts';

describe('the structured-output check', () => {
  it('takes JSON cut by max_tokens as the beginning of an object, and prose or a closed object with more as not', () => {
    assert.equal(isJsonObjectPrefix('{\n  "city": "Tokyo",\n  "nested": {"a": [1, 2.5e3, true, null'), true);
    assert.equal(isJsonObjectPrefix('{"text": "a \\"quoted\\" brace } inside'), true);
    assert.equal(isJsonObjectPrefix('Sure! Here is the JSON: {"city": "Tokyo"'), false);
    assert.equal(isJsonObjectPrefix('{"city": "Tokyo"} and then prose'), false);
    assert.equal(isJsonObjectPrefix('{"city": Tokyo'), false);
    assert.equal(isJsonObjectPrefix('{"a": [1}'), false);
    assert.equal(isJsonObjectPrefix('{"raw": "line\nbreak'), false, 'a raw control character is no JSON string');
  });

  it('names each way an answer misses the place schema', () => {
    assert.deepEqual(placeSchemaViolations({ city: 'Tokyo', country: 'Japan', population_millions: 14, is_capital: true }), []);
    assert.deepEqual(placeSchemaViolations({ city: 'Tokyo', country: 'x'.repeat(41), population_millions: 1.5, extra: 1 }), [
      'country is longer than 40',
      'population_millions is 1.5, not an integer',
      'is_capital missing',
      'extra is not in the schema',
    ]);
  });
});
