/**
 * The README's promise, tried for real: a clean Debian bookworm container (the debootstrap base,
 * nothing installed but `make`) gets this repo's files and runs `make provision`, then
 * `make smoke-test`. Nothing is typed before them: the Makefile installs the compilers, Python's
 * venv and Node.js itself. Run by .ci/run (make test-fresh-machine); it compiles llama.cpp once
 * inside, so it takes minutes.
 *
 * The compiles go through ccache with the test cache's compiler cache mounted (what the host's
 * tests compiled from the same source and flags; llama.cpp's chat page likewise, built by them): the compilers, CMake and the link still run for
 * real inside, the object files come from the cache where the compiler's input is the same. Without
 * it, the clean box's compile of llama-server is 8 to 13 minutes of CI on 2 cores.
 *
 * The host's CA bundle is mounted because this machine reaches PyPI and npm through a
 * TLS-inspecting proxy (docs/decisions.md#what-this-machine-can-do); a user's machine needs nothing of the kind.
 */
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { CONTAINERS_CONF, ensureBaseImage, TEST_BASE_IMAGE } from './e2e/podman.ts';
import { REPO_ROOT, SHARED_CACHE } from './helpers.ts';

const tree = mkdtempSync(join(tmpdir(), 'wb-fresh-'));
const ca = process.env.SSL_CERT_FILE ?? '/etc/ssl/certs/ca-certificates.crt';
const sh = $({ env: { ...process.env, CONTAINERS_CONF }, verbose: true });

await ensureBaseImage();
// The repo's files as a clone would have them (tracked and new, nothing ignored: no node_modules, no caches).
await $({ cwd: REPO_ROOT })`git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -C ${tree} -xf -`;

const inside = [
  'set -e',
  'apt-get update -qq && apt-get install -y -qq --no-install-recommends make >/dev/null',
  'echo "== only make is installed: $(command -v make); node: $(command -v node || echo none); python3: $(command -v python3 || echo none); cc: $(command -v cc || echo none)"',
  'cd /repo',
  'time make provision',
  'make smoke-test',
  'echo "== ccache: $(CCACHE_DIR=/root/.cache/llm-workbench/ccache ccache --print-stats | grep -E "^(direct_cache_hit|preprocessed_cache_hit|cache_miss)" | tr "\\t\\n" "= ")"',
].join('\n');
const compilerCache = join(SHARED_CACHE, 'ccache');
mkdirSync(compilerCache, { recursive: true });
const hostCompiled = readdirSync(compilerCache).some((entry) => /^[0-9a-f]$/.test(entry));
// The cache's counters are the cache's, not the run's: zeroed here, they count this run alone.
await $({ env: { ...process.env, CCACHE_DIR: compilerCache } })`ccache --zero-stats`;

const started = Date.now();
const caEnv = ['PIP_CERT', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE'].flatMap((name) => ['--env', `${name}=/etc/llm-ci/ca.crt`]);
// podman's own network: the container reaches the registries, and its ports (8080, 18888) are its
// own, so this runs beside anything else on the host.
// The chat page the host's tests built from the same source (npm ci and Vite: about 3 minutes on
// 2 cores), as the compiler cache: the host's e2e tests prove that build, this box embeds it.
const chatPage = join(SHARED_CACHE, 'llama-ui');
mkdirSync(chatPage, { recursive: true });
const run = ['run', '--rm', '--volume', `${tree}:/repo`, '--volume', `${compilerCache}:/root/.cache/llm-workbench/ccache`, '--volume', `${chatPage}:/root/.cache/llm-workbench/llama-ui`, '--volume', `${ca}:/etc/llm-ci/ca.crt:ro`, ...caEnv, TEST_BASE_IMAGE, 'bash', '-c', inside];
// zx quotes each element of the array as its own word.
const result = await sh`podman ${run}`;
// The host's tests compiled the same llama-server (same source, flags, compiler): if none of it
// was found, something a compile hashes differs between the two (a locale, a path) and every
// clean machine pays the whole compile again.
const hits = [...result.stdout.matchAll(/(direct|preprocessed)_cache_hit=(\d+)/g)].reduce((sum, m) => sum + Number(m[2]), 0);
if (hostCompiled && hits === 0) throw new Error('the fresh machine found none of the host-compiled objects in the shared ccache: read its ccache log (CCACHE_DEBUG=1) for what differs');
// No uv on a fresh machine: step 20 takes pip's route, resolving a lock for this Python and
// installing from it. The e2e worlds have uv (test/e2e/support.ts), so pip's route is proven here.
if (!/^20-python-env\s+created\s+[\d.]+s\s+venv \S+ \(python 3\.[\d.]+\)$/m.test(result.stdout)) throw new Error('step 20 did not make its venv with python -m venv and pip on the fresh machine: read its line above');
console.log(`fresh machine: make provision and make smoke-test passed in ${((Date.now() - started) / 1000).toFixed(0)}s`);
await $`rm -rf ${tree}`;
