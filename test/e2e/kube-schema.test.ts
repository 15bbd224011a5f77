/**
 * kube.yaml against the API a cluster enforces: kubernetes-validate (PyPI; the OpenAPI schemas of
 * each Kubernetes release, bundled, so nothing is fetched when it runs) in strict mode, for the
 * default profile, a CUDA one and a key-protected one, as `make render` writes them; and a broken
 * manifest fails the same check. It found `--flash-attn, on` read as a boolean by YAML 1.1 readers.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { NO_GPU_FACTS } from '../../scripts/lib/accelerator/facts.ts';
import { loadProfile } from '../../scripts/lib/profile/load.ts';
import { resolvePlan } from '../../scripts/lib/profile/plan.ts';
import { renderProfile, writeRendered } from '../../scripts/lib/render/render.ts';
import { REPO_ROOT, TEST_CACHE_ROOT } from '../helpers.ts';
import { make, newWorld, worldProfiles } from './support.ts';

const VALIDATOR_VERSION = '1.37.0';
/** The Kubernetes release validated against: the newest the validator knows. */
const KUBERNETES = '1.37';

/** kubernetes-validate in a venv of the test cache, made once (aside, then renamed: never half made). */
async function validator(): Promise<string> {
  const dir = join(TEST_CACHE_ROOT, 'tools', `kubernetes-validate-${VALIDATOR_VERSION}`);
  const python = join(dir, 'bin', 'python');
  if (existsSync(join(dir, 'ready'))) return python;
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(join(TEST_CACHE_ROOT, 'tools'), { recursive: true });
  await execa('python3', ['-m', 'venv', partial]);
  await execa(join(partial, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `kubernetes-validate==${VALIDATOR_VERSION}`]);
  writeFileSync(join(partial, 'ready'), '');
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return python;
}

const NVIDIA_MACHINE = { ...NO_GPU_FACTS, nvidiaNodes: ['/dev/nvidia0'], nvidiaSmi: { path: '/usr/bin/nvidia-smi', gpus: [{ name: 'NVIDIA H200', computeCap: '9.0', memoryMiB: 143771, driver: '580.159.04' }] }, container: { cdiSpec: '/etc/cdi/nvidia.yaml', dri: false } };

async function validate(file: string) {
  // Run as a module: a venv's scripts name the folder it was made in, its python does not.
  return execa(await validator(), ['-m', 'kubernetes_validate', '--strict', '-k', KUBERNETES, file], { reject: false, all: true });
}

describe("kube.yaml against the Kubernetes API's schemas", () => {
  it('validates for the default profile, a CUDA profile and a key-protected one; a broken manifest fails the same check', async () => {
    const world = newWorld();
    worldProfiles(world, {
      gpu: 'extends: default\nruntime: container\naccelerator:\n  kind: cuda\nkube:\n  replicas: 2\n',
      keyed: 'extends: default\nruntime: container\nserver:\n  api_key: generate\nkube:\n  replicas: 2\n',
      plain: 'extends: default\nruntime: container\nkube:\n  replicas: 2\n  storage_class: fast-ssd\n',
    });
    for (const profile of ['plain', 'gpu', 'keyed']) {
      if (profile === 'gpu') {
        // Rendered as on a machine with an NVIDIA card (this one has none: make render would refuse kind: cuda).
        const plan = resolvePlan(loadProfile('gpu', world.envDir), { repoRoot: REPO_ROOT, env: world.env, arch: 'x86_64', gpuFacts: NVIDIA_MACHINE });
        writeRendered(plan, renderProfile(plan));
      } else {
        const rendered = await make(world, 'render', { PROFILE: profile });
        assert.equal(rendered.exitCode, 0, rendered.all);
      }
      const kube = join(world.env.LLM_WORKBENCH_BUILD_DIR!, profile, 'kube.yaml');
      const result = await validate(kube);
      assert.equal(result.exitCode, 0, `${profile}: ${result.all}`);
      assert.match(result.all, new RegExp(`passed for resource deployment/llm-workbench-${profile} against version ${KUBERNETES.replace('.', '\\.')}`));
      if (profile === 'keyed') assert.match(readFileSync(kube, 'utf8'), /secretKeyRef/);
      // The cluster's manifest: every object of it.
      const cluster = join(world.env.LLM_WORKBENCH_BUILD_DIR!, profile, 'kube-cluster.yaml');
      const checked = await validate(cluster);
      assert.equal(checked.exitCode, 0, `${profile} kube-cluster.yaml: ${checked.all}`);
      for (const object of [`statefulset/llm-workbench-${profile}`, `service/llm-workbench-${profile}`, `configmap/llm-workbench-${profile}-fetch`]) {
        assert.match(checked.all, new RegExp(`passed for resource ${object} against version`), `${profile}: ${object}`);
      }
      const text = readFileSync(cluster, 'utf8');
      assert.match(text, /^\s+replicas: 2$/m, 'kube.replicas');
      assert.equal(/nvidia\.com\/gpu: 1$/m.test(text), profile === 'gpu', 'the GPU as the device plugin names it');
      assert.equal(/secretKeyRef:\n\s+name: llm-workbench-keyed-api-key/.test(text), profile === 'keyed');
    }
    // The same check fails a manifest with a mistake a cluster refuses: a port as text, an unknown field.
    const plain = readFileSync(join(world.env.LLM_WORKBENCH_BUILD_DIR!, 'plain', 'kube.yaml'), 'utf8');
    const broken = join(world.home, 'broken.yaml');
    writeFileSync(broken, plain.replace(/containerPort: (\d+)/, 'containerPort: "$1"').replace(/^(\s+)image: /m, '$1imag: '));
    const refused = await validate(broken);
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.all, /did not validate/);
    const cluster = readFileSync(join(world.env.LLM_WORKBENCH_BUILD_DIR!, 'plain', 'kube-cluster.yaml'), 'utf8');
    writeFileSync(broken, cluster.replace(/^(\s+)replicas: 2$/m, '$1replicas: "2"').replace(/^(\s+)storage: (\S+)$/m, '$1storag: $2'));
    const refusedCluster = await validate(broken);
    assert.notEqual(refusedCluster.exitCode, 0);
    assert.match(refusedCluster.all, /did not validate/);
  });
});
