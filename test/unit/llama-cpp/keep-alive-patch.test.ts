import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { patchKeepAlive } from '../../../scripts/lib/llama-cpp/keep-alive-patch.ts';

describe('the keep-alive fix to llama-server', () => {
  const provider = `        const chunked_content_provider = [response = r_ptr](size_t, httplib::DataSink & sink) -> bool {
            std::string chunk;
            const bool has_next = response->next(chunk);
            if (!has_next) {
                sink.done();
            }
            return has_next;
        };
    other: return has_next;
`;

  it('makes the stream provider return true after done(), once, and leaves a patched or unrelated source alone', () => {
    const patched = patchKeepAlive(provider)!;
    assert.match(patched, /sink\.done\(\);\n {12}\}\n {12}return true; \/\/ llm-workbench/);
    assert.match(patched, /other: return has_next;/, 'only the provider after done() changes');
    assert.equal(patchKeepAlive(patched), patched);
    assert.equal(patchKeepAlive('int main() { return 0; }'), undefined);
  });
});
