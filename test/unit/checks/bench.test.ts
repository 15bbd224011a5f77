import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BENCH_SESSION, benchPrompts, tagged } from '../../../checks/bench.ts';
import { concurrencyChart, headlineLines, headlineOf, markdownReport, type BenchReport } from '../../../checks/bench/report.ts';
import { bracketedBatchedLimit, bracketedCppLimit } from '../../../checks/bench/backends.ts';
import { percentile, summarize } from '../../../checks/bench/stats.ts';
import { verifyGuideOutputs } from '../../../checks/notebook.ts';

describe('bench statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.equal(percentile(sorted, 50), 5);
    assert.equal(percentile(sorted, 95), 10);
    assert.equal(percentile([7], 95), 7);
  });

  it('summarizes ignoring values that are not finite', () => {
    const s = summarize([3, 1, NaN, 2]);
    assert.deepEqual(s, { n: 3, mean: 2, p50: 2, p95: 3, min: 1, max: 3 });
  });
});

describe('bench prompts', () => {
  it('uses the guide\'s verification prompts with its system prompt, and one fixed prompt', () => {
    const prompts = benchPrompts();
    assert.equal(prompts.length, 4);
    assert.deepEqual(prompts[0], [
      { role: 'system', content: 'あなたは優秀な日本の観光ガイドです' },
      { role: 'user', content: '自己紹介をしてください' },
    ]);
    assert.equal(prompts[1]![1]!.content, '富士山の標高は？');
  });

  it('tags each run at the very start so no run reuses the previous prompt\'s cache', () => {
    const [p] = benchPrompts();
    assert.notEqual(tagged(p!, 1)[0]!.content.slice(0, 8), tagged(p!, 2)[0]!.content.slice(0, 8));
    assert.equal(tagged(p!, 1, '123456')[1]!.content, `(run 1-123456) ${p![1]!.content}`, 'the user message too: some chat formats drop the system one');
  });

  it('tags a run of this bench apart from the same run of an earlier bench on the same server', () => {
    const [p] = benchPrompts();
    assert.notDeepEqual(tagged(p!, 1, '123456'), tagged(p!, 1, '654321'));
    assert.match(tagged(p!, 1)[0]!.content, new RegExp(`^\\(run 1-${BENCH_SESSION}\\) `));
    assert.match(BENCH_SESSION, /^\d{6}$/);
  });
});

const summary = { n: 2, mean: 10, p50: 10, p95: 12, min: 8, max: 12 };
const report: BenchReport = {
  profile: 'elyza-7b',
  model: { alias: 'elyza', file: 'e.gguf' },
  llamaCppVersion: '0.3.36',
  at: '2026-11-26T00:00:00Z',
  settings: { runsPerPrompt: 1, maxTokens: 8, nCtx: 2048, nThreads: 'auto', concurrency: [1, 2, 4], requestsPerClient: 1, speculative: 'off' },
  served: { backend: 'llama-cpp-python', runs: [], summary: { ttftMs: summary, decodeTokensPerSecond: summary, promptTokensPerSecond: summary, e2eMs: summary, itlMs: summary } },
  raw: { loadSeconds: 1, runs: [], summary: { ttftMs: summary, decodeTokensPerSecond: { ...summary, mean: 12.5 }, promptTokensPerSecond: summary, e2eMs: summary } },
  comparison: { decodeRatio: 0.8, ttftOverheadMs: 5, promptRatio: 1 },
  concurrency: [1, 2, 4].map((clients) => ({ clients, requests: clients, wallSeconds: 1, completionTokens: 10 * clients, aggregateTokensPerSecond: 10 * clients, requestsPerSecond: clients, ttftMs: summary, e2eMs: summary, decodeTokensPerSecond: summary })),
  guide: { decodeTokensPerSecond: 4.15, promptTokensPerSecond: [{ tokens: 12, tokensPerSecond: 8.97 }], embeddings: { tokens: 13, seconds: 1.45 }, verificationTokensPerSecond: [0.8, 3.5] },
};

describe('bench reports', () => {
  it('writes a markdown table per section, the served/raw ratio and the guide\'s figures beside ours', () => {
    const md = markdownReport(report);
    assert.match(md, /\*\*Served \/ raw decode speed: 0\.80\*\*/);
    assert.match(md, /^\| 4 \| 4 \| 1\.00 \| 40\.0 \|/m);
    assert.match(md, /^\| decode tokens\/s \| 4\.15 \| 12\.5 \(raw\), 10\.0 \(served\) \|$/m);
  });

  it('names the device and the served model\'s offload', () => {
    const md = markdownReport({ ...report, device: { accelerator: 'vulkan', device: 'llvmpipe (a CPU device)', offload: 'on Vulkan0 (llvmpipe): 31/31 layers offloaded' } });
    assert.match(md, /^Device: vulkan on llvmpipe \(a CPU device\); the served model on Vulkan0 \(llvmpipe\): 31\/31 layers offloaded\. llama-bench and llama-batched-bench run on the same device\.$/m);
  });

  it('heads the report with the served endpoint against llama.cpp run with its flags: one stream, the most clients, TTFT at 1 and at the most', () => {
    const cpp = { threads: 2, promptTokens: 64, genTokens: 8, depthTokens: 40, ppTokensPerSecond: 300, tgTokensPerSecond: 12.5, byThreads: [{ threads: 2, pp: 300, tg: 12.5 }] };
    const batched = { threads: 2, promptTokens: 60, genTokens: 8, byParallel: [1, 2, 4].map((parallel) => ({ parallel, tgTokensPerSecond: 99, tokensPerSecond: 99, completionTokensPerSecond: 11 * parallel, promptSeconds: 0.2 * parallel })) };
    const levels = report.concurrency.map((c) => ({ ...c, ttftMs: { ...summary, p50: 40 * c.clients } }));
    const headline = headlineOf(report.served.summary, levels, cpp, batched);
    assert.deepEqual(headline.decodeVsLlamaBench, { served: 10, engine: 12.5, ratio: 0.8 });
    // The served aggregate at 4 clients (40) against the engine's generated tokens over its whole run at 4 sequences (44), not its decode-only speed (99).
    assert.deepEqual(headline.aggregateVsBatched, { clients: 4, served: 40, engine: 44, ratio: 40 / 44 });
    assert.deepEqual(headline.ttftP50Ms, [{ clients: 1, ms: 40 }, { clients: 4, ms: 160 }]);
    const lines = headlineLines({ ...report, cpp, batched, headline });
    assert.match(lines[0]!, /^served ÷ llama-bench tg \(1 stream, 2 threads, the server's flags, after 40 tokens as the served prompts\): 0\.80 \(10\.0 \/ 12\.5 tokens\/s\)$/);
    assert.match(lines[1]!, /^served ÷ llama-batched-bench \(4 clients, generated tokens over the whole run\): 0\.91 /);
    assert.equal(lines[2], 'time to first token p50: 40 ms at 1 client, 160 ms at 4 clients');
    // One prompt takes 200 ms: taken one at a time, 4 first tokens come at 200/400/600/800 ms (p50 500); in one batch all at 800.
    assert.deepEqual(headline.ttftArrivingTogether, { clients: 4, oneAtATimeMs: 500, oneBatchMs: 800 });
    assert.equal(lines[3], "  4 prompts arriving at once, at the engine's own prompt speed (llama-batched-bench): first tokens p50 500 ms taken one at a time, 800 ms in one batch");
    const oneAtATime = headlineLines({ ...report, settings: { ...report.settings, promptsOneAtATime: true }, cpp, batched, headline });
    assert.match(oneAtATime[3]!, / 800 ms in one batch \(the server takes them one at a time\)$/);
    assert.match(lines[4]!, /^served ÷ raw engine decode \(llama-cpp-python in-process\): 0\.80/);
    assert.match(markdownReport({ ...report, cpp, batched, headline }), /^- served ÷ llama-bench tg /m);
  });

  it('puts the C++ limit as the mean of its runs just before and just after the served ones, shows both, and the client\'s CPU beside the server', () => {
    const limit = (tg: number, completion: number) => ({
      cpp: { threads: 2, promptTokens: 64, genTokens: 8, depthTokens: 40, ppTokensPerSecond: 10 * tg, tgTokensPerSecond: tg, byThreads: [{ threads: 2, pp: 10 * tg, tg }] },
      batched: { threads: 2, promptTokens: 60, genTokens: 8, byParallel: [1, 4].map((parallel) => ({ parallel, tgTokensPerSecond: 99, tokensPerSecond: 99, completionTokensPerSecond: completion * parallel, promptSeconds: 0.2 * parallel })) },
    });
    const before = limit(12, 10);
    const after = limit(8, 12);
    const cpp = bracketedCppLimit(before.cpp, after.cpp);
    const batched = bracketedBatchedLimit(before.batched, after.batched);
    assert.equal(cpp.tgTokensPerSecond, 10);
    assert.deepEqual(cpp.byThreads, [{ threads: 2, pp: 100, tg: 10 }]);
    assert.deepEqual(cpp.bracket, { before: 12, after: 8 });
    assert.deepEqual(batched.byParallel.map((b) => b.completionTokensPerSecond), [11, 44]);
    assert.deepEqual(batched.bracket, { before: 40, after: 48 });
    const levels = report.concurrency;
    const headline = headlineOf(report.served.summary, levels, cpp, batched);
    const lines = headlineLines({ ...report, served: { ...report.served, clientCpuMsPerChunk: 5 }, cpp, batched, headline });
    assert.match(lines[0]!, /: 1\.00 \(10\.0 \/ 10\.0 tokens\/s; the engine 12\.0 just before the served runs, 8\.0 just after\)$/);
    // 5 ms per token at 10 tokens/s: 5% of a core spent by the client beside the server.
    assert.equal(lines[1], "  the bench's client (the official openai client) spent 5.00 ms of CPU per streamed token on the cores the server decodes on (5.0% of a core at the served speed); llama-bench has no client");
    assert.match(lines[2]!, /\(40\.0 \/ 44\.0 tokens\/s; the engine 40\.0 just before the served runs, 48\.0 just after\)$/);
  });

  it('says when the served stream speculates, which llama-bench cannot, and puts the same server without drafts beside it', () => {
    const cpp = { threads: 2, promptTokens: 64, genTokens: 8, depthTokens: 40, ppTokensPerSecond: 300, tgTokensPerSecond: 12.5, byThreads: [{ threads: 2, pp: 300, tg: 12.5 }] };
    const headline = headlineOf(report.served.summary, report.concurrency, cpp, undefined);
    const speculation = { setting: 'ngram-mod' as const, best: 'ngram-mod' as const, verdict: '', runs: [{ mode: 'off' as const, guideDecode: 11.5, codeDecode: 9, aggregate: 20, clients: 4 }] };
    const lines = headlineLines({ ...report, settings: { ...report.settings, speculative: 'ngram-mod' }, cpp, headline, speculation });
    assert.equal(lines[1], "  the server speculates (server.speculative: ngram-mod), llama-bench does not; the same server with it off: 0.92 (11.5 tokens/s on the guide's prompts, asked once each)");
    assert.ok(!headlineLines({ ...report, cpp, headline }).some((line) => line.includes('speculates')));
  });

  it('leaves out what it did not measure: no C++ tools, only the raw engine line', () => {
    const headline = headlineOf(report.served.summary, report.concurrency, undefined, undefined);
    assert.equal(headline.decodeVsLlamaBench, undefined);
    assert.equal(headline.aggregateVsBatched, undefined);
    assert.equal(headlineLines({ ...report, headline }).filter((line) => line.includes('llama-')).length, 1);
  });

  it('draws one bar per concurrency level and the raw engine line', () => {
    const svg = concurrencyChart(report);
    assert.equal(svg.match(/class="bar"/g)?.length, 3);
    assert.match(svg, /class="raw"/);
    assert.match(svg, /raw engine decode 12\.5 tokens\/s/);
  });
});

describe('the notebook check', () => {
  const good = ['CHECK setup http://x/v1/', 'CHECK completions length 64', 'CHECK chat assistant 120', 'CHECK embeddings 2 576 True', 'CHECK streaming 40', 'CHECK timing 64 0.9'];

  it('accepts the outputs of a notebook that ran every example', () => {
    assert.match(verifyGuideOutputs(good, 576), /embeddings 2x576/);
  });

  it('fails on token-level embeddings, a wrong size, an empty stream or a missing cell', () => {
    assert.throws(() => verifyGuideOutputs(good.map((l) => l.replace('576 True', '576 False')), 576), /flat=False/);
    assert.throws(() => verifyGuideOutputs(good, 768), /576 dimensions, the model has 768/);
    assert.throws(() => verifyGuideOutputs(good.map((l) => l.replace('streaming 40', 'streaming 1')), 576), /streaming printed 1 pieces/);
    assert.throws(() => verifyGuideOutputs(good.filter((l) => !l.includes('chat')), 576), /the chat cell printed no CHECK line/);
  });
});
