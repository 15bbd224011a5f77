#!/usr/bin/env -S npx tsx
/**
 * `make deps`: the system packages a Debian/Ubuntu (or WSL) box needs, installed with apt-get:
 * compilers for llama.cpp and venv support; CONTAINERS=1 adds podman for the container route.
 * Everything else (npm and pip packages) installs itself.
 */
import { $ } from 'zx';
import { WorkbenchError } from './lib/errors.ts';
import { which } from './lib/run.ts';
import { runMain } from './lib/step.ts';

const NATIVE = ['make', 'build-essential', 'python3', 'python3-venv', 'python3-pip', 'ca-certificates'];
const CONTAINERS = ['podman', 'runc', 'podman-compose'];

await runMain(async () => {
  if (!which('apt-get')) throw new WorkbenchError('make deps knows Debian and Ubuntu (apt-get) only', `install these with your package manager: ${NATIVE.join(', ')}`);
  const packages = process.env.CONTAINERS === '1' ? [...NATIVE, ...CONTAINERS] : NATIVE;
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  $.verbose = true;
  // zx quotes each element of an interpolated array as its own word.
  await $`${sudo} apt-get update`;
  await $`${sudo} apt-get install -y --no-install-recommends ${packages}`;
  if (process.env.CONTAINERS !== '1') console.log(`for runtime: container, run make deps CONTAINERS=1 (adds ${CONTAINERS.join(', ')})`);
});
