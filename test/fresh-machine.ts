/**
 * The README's promise, tried for real: a clean Debian bookworm container (the debootstrap base,
 * nothing installed but `make`) gets this repo's files and runs `make provision`, then
 * `make smoke-test`. Nothing is typed before them: the Makefile installs the compilers, Python's
 * venv and Node.js itself. Run by .ci/run (make test-fresh-machine); it compiles llama.cpp once
 * inside, so it takes minutes.
 *
 * The host's CA bundle is mounted because this machine reaches PyPI and npm through a
 * TLS-inspecting proxy (docs/decisions.md#what-this-machine-can-do); a user's machine needs nothing of the kind.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { CONTAINERS_CONF, ensureBaseImage, TEST_BASE_IMAGE } from './e2e/podman.ts';
import { REPO_ROOT } from './helpers.ts';

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
].join('\n');

const started = Date.now();
const caEnv = ['PIP_CERT', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE'].flatMap((name) => ['--env', `${name}=/etc/llm-ci/ca.crt`]);
// podman's own network: the container reaches the registries, and its ports (8080, 18888) are its
// own, so this runs beside anything else on the host.
const run = ['run', '--rm', '--volume', `${tree}:/repo`, '--volume', `${ca}:/etc/llm-ci/ca.crt:ro`, ...caEnv, TEST_BASE_IMAGE, 'bash', '-c', inside];
// zx quotes each element of the array as its own word.
await sh`podman ${run}`;
console.log(`fresh machine: make provision and make smoke-test passed in ${((Date.now() - started) / 1000).toFixed(0)}s`);
await $`rm -rf ${tree}`;
