import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { execa } from 'execa';
import { parse, parseAllDocuments } from 'yaml';
import { NO_GPU_FACTS } from '../../../scripts/lib/accelerator/facts.ts';
import { modelId } from '../../../scripts/lib/model/transport/index.ts';
import { loadProfile } from '../../../scripts/lib/profile/load.ts';
import { resolvePlan } from '../../../scripts/lib/profile/plan.ts';
import { previewRendered, renderProfile, writeRendered } from '../../../scripts/lib/render/render.ts';
import { BASHRC_BEGIN, BASHRC_END } from '../../../scripts/lib/render/shell-block.ts';
import { FIXED_ENV, profilesWith, REPO_ROOT, tempDir } from '../../helpers.ts';
import type { Plan } from '../../../scripts/lib/plan/index.ts';

const GOLDEN = join(REPO_ROOT, 'test', 'golden');

function planOf(name: string, env: Record<string, string> = FIXED_ENV, repoRoot = REPO_ROOT): Plan {
  return resolvePlan(loadProfile(name, join(REPO_ROOT, 'env')), { repoRoot, env, arch: 'x86_64' });
}

const RENDERED_TEMPLATES = ['Dockerfile', 'environment.yml', 'bashrc.sh', 'compose.yaml', 'kube.yaml'];

/** Each file as its golden copy in test/golden/<name>/ has it (UPDATE_GOLDEN=1 rewrites them, never in CI). */
function matchGolden(name: string, files: readonly { path: string; content: string }[]): void {
  for (const file of files) {
    const golden = join(GOLDEN, name, file.path);
    if (process.env.UPDATE_GOLDEN === '1' && !process.env.CI) {
      mkdirSync(join(GOLDEN, name), { recursive: true });
      writeFileSync(golden, file.content);
    }
    assert.ok(existsSync(golden), `no golden file ${golden}: run UPDATE_GOLDEN=1 make test-unit`);
    assert.equal(file.content, readFileSync(golden, 'utf8'), `${name}/${file.path} differs from its golden file`);
  }
}

function fileOf(plan: Plan, path: string): string {
  const file = renderProfile(plan).find((f) => f.path === path);
  assert.ok(file, `${path} was not rendered`);
  return file.content;
}

// The embedded default (llama-server) and the guide's profile (llama-cpp-python in openblas_simple).
for (const profile of ['default', 'elyza-7b']) {
  describe(`rendering ${profile}`, () => {
    const plan = planOf(profile);
    const files = renderProfile(plan);

    it('matches the golden files (update on purpose with UPDATE_GOLDEN=1, never in CI)', () => {
      // The rendered files; serve.py and patch_llama_cpp.py are the repo's own, copied verbatim.
      matchGolden(profile, files.filter((f) => f.path !== 'serve.py' && f.path !== 'patch_llama_cpp.py'));
    });

    it('is deterministic: rendering again gives byte-identical files', () => {
      assert.deepEqual(renderProfile(planOf(profile)), files);
    });
  });
}

// llama_cpp.server's files, native (its own profile) and the guide's container.
for (const profile of ['llama-cpp-python', 'elyza-7b']) {
  describe(`rendering ${profile} (llama-cpp-python)`, () => {
    const plan = planOf(profile);

    it('writes an environment.yml that parses, with conda-forge only and the pinned llama-cpp-python where the host serves', () => {
      const env = parse(fileOf(plan, 'environment.yml'));
      assert.equal(env.name, plan.python.envName);
      assert.deepEqual(env.channels, ['conda-forge', 'nodefaults']);
      assert.ok(env.dependencies.includes(`python=${plan.python.version}`));
      const pip = env.dependencies.find((d: unknown) => typeof d === 'object' && d !== null && 'pip' in d).pip;
      assert.equal(pip.includes(`llama-cpp-python[server]==${plan.llamaCpp.version}`), plan.python.builtHere !== undefined);
      assert.ok(pip.includes('jupyterlab>=4'));
      assert.ok(pip.some((p: string) => p.startsWith('openai')));
    });

    it('writes a compose.yaml that parses, publishing on loopback with the model mounted read-only', () => {
      const compose = parse(fileOf(plan, 'compose.yaml'));
      const server = compose.services['model-server'];
      assert.deepEqual(server.ports, [`127.0.0.1:${plan.server.port}:${plan.server.port}`]);
      assert.match(server.volumes[0], /:\/models:ro$/);
      assert.equal(server.environment.USE_MLOCK, '0');
      assert.deepEqual(server.cap_add, ['SYS_RESOURCE']);
      assert.ok(server.command.includes('--embedding'));
      assert.equal(server.command[server.command.indexOf('--embedding') + 1], 'true');
      const jupyter = compose.services.jupyter;
      assert.equal(jupyter.environment.JUPYTER_TOKEN, '${JUPYTER_TOKEN:?set JUPYTER_TOKEN to a random token}');
      assert.ok(!JSON.stringify(jupyter.command).includes('token'), 'the Jupyter token must not be on the command line');
    });

    it('writes Kubernetes manifests: a Deployment with a readiness probe on /v1/models, a models volume and a Service', () => {
      const docs = parseAllDocuments(fileOf(plan, 'kube.yaml')).map((d) => d.toJS());
      assert.deepEqual(docs.map((d) => d.kind), ['Deployment', 'Service']);
      const [deployment, service] = docs;
      const container = deployment.spec.template.spec.containers[0];
      assert.equal(container.readinessProbe.httpGet.path, '/v1/models');
      assert.equal(container.readinessProbe.httpGet.port, plan.server.port);
      assert.deepEqual(container.ports[0], { name: 'http', containerPort: plan.server.port, hostPort: plan.server.port, hostIP: '127.0.0.1' });
      assert.equal(container.command[container.command.indexOf('--embedding') + 1], 'true');
      assert.deepEqual(container.volumeMounts, [{ name: 'models', mountPath: '/models', readOnly: true }]);
      assert.equal(deployment.spec.template.spec.volumes[0].hostPath.path, dirname(plan.model.path));
      assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
      assert.match(deployment.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    });

    it('writes a Dockerfile that the Dockerfile parser and linter accept', () => {
      const text = fileOf(plan, 'Dockerfile');
      const problems = validate(text).filter((d) => d.severity === 1);
      assert.deepEqual(problems.map((p) => `${p.range.start.line + 1}: ${p.message}`), []);
      const dockerfile = DockerfileParser.parse(text);
      const stages = dockerfile.getFROMs().map((f) => f.getBuildStage());
      assert.deepEqual(stages, ['build', 'venv', 'runtime', 'jupyter', 'server']);
      const last = dockerfile.getInstructions().filter((i) => i.getKeyword() === 'USER').pop();
      assert.equal(last?.getArgumentsContent(), 'llm', 'the server runs as a non-root user');
      const cmd = dockerfile.getCMDs()[0];
      assert.ok(cmd, 'the image has a CMD');
      const argv = JSON.parse(cmd.getArgumentsContent() ?? '[]') as string[];
      assert.equal(argv[argv.indexOf('--embedding') + 1], 'true');
      assert.equal(argv[argv.indexOf('--model_alias') + 1], plan.model.alias);
      assert.match(text, /ENV HOST=0\.0\.0\.0/);
      assert.match(text, /rm -rf \/var\/lib\/apt\/lists\/\*/);
      assert.match(text, new RegExp(`llama-cpp-python==${plan.llamaCpp.version.replace(/\./g, '\\.')}`));
    });

    it('writes a bashrc block that bash and shellcheck accept', async () => {
      const dir = tempDir();
      const file = join(dir, 'bashrc.sh');
      writeFileSync(file, fileOf(plan, 'bashrc.sh'));
      await execa('bash', ['-n', file]);
      const shellcheck = await execa('shellcheck', ['--shell=bash', '--severity=style', file], { reject: false });
      assert.equal(shellcheck.exitCode, 0, shellcheck.stdout);
      const text = readFileSync(file, 'utf8');
      assert.ok(text.startsWith(`${BASHRC_BEGIN}\n`) && text.endsWith(`${BASHRC_END}\n`));
      assert.match(text, new RegExp(`OPENAI_BASE_URL=http://127\\.0\\.0\\.1:${plan.server.port}/v1`));
    });
  });
}

describe('the bashrc block of a profile without JupyterLab', () => {
  it("defines no JupyterLab helper: another profile's address with an empty token would be a lie", async () => {
    const off = resolvePlan(loadProfile('nolab', profilesWith({ nolab: 'extends: default\njupyter:\n  enabled: false\n' })), { repoRoot: REPO_ROOT, env: FIXED_ENV, arch: 'x86_64' });
    const text = fileOf(off, 'bashrc.sh');
    assert.doesNotMatch(text, /llm_workbench_jupyter_url|18888|jupyter-token/);
    assert.match(text, /export OPENAI_BASE_URL=/);
    const on = fileOf(planOf('default'), 'bashrc.sh');
    assert.match(on, /llm_workbench_jupyter_url\(\) \{/);
    const dir = tempDir();
    writeFileSync(join(dir, 'bashrc.sh'), text);
    await execa('bash', ['-n', join(dir, 'bashrc.sh')]);
  });
});

describe('rendering a llama-server container profile', () => {
  const profiles = { lsc: 'extends: default\nruntime: container\ncontainer:\n  base: localhost/debian:bookworm\nserver:\n  api_key: generate\n' };
  const plan = resolvePlan(loadProfile('lsc', profilesWith(profiles)), { repoRoot: REPO_ROOT, env: FIXED_ENV, arch: 'x86_64', cpuCount: 2 });

  it('writes a Dockerfile whose serving image holds llama-server and no Python, built from the pinned sdist', () => {
    const text = fileOf(plan, 'Dockerfile');
    assert.deepEqual(validate(text).filter((d) => d.severity === 1).map((p) => p.message), []);
    const dockerfile = DockerfileParser.parse(text);
    assert.deepEqual(dockerfile.getFROMs().map((f) => f.getBuildStage()), ['build', 'runtime', 'jupyter', 'server']);
    const argv = JSON.parse(dockerfile.getCMDs()[0]!.getArgumentsContent() ?? '[]') as string[];
    assert.equal(argv[0], '/usr/local/bin/llama-server');
    assert.equal(argv[argv.indexOf('--host') + 1], '0.0.0.0');
    assert.ok(!argv.includes('--threads'), 'threads: auto names no count in an image');
    assert.ok(!argv.some((a) => /api.?key/i.test(a)));
    const runtime = text.slice(text.indexOf('AS runtime'), text.indexOf('AS jupyter'));
    assert.doesNotMatch(runtime, /python/, 'the runtime stage installs no Python');
    assert.match(text, /pip download --no-cache-dir --no-deps --no-binary llama-cpp-python .*llama-cpp-python==0\.3\.36/);
    // Laid out as the host's build tree (<tree>/src/llama_cpp_python-<version>, <tree>/build), so
    // podman's mount of the host's compiler cache serves the image's compile.
    assert.match(text, /src=\/tmp\/tree\/src\/llama_cpp_python-0\.3\.36 /);
    assert.match(text, /cmake -S "\$src\/vendor\/llama\.cpp" -B \/tmp\/tree\/build .*-DBUILD_SHARED_LIBS=OFF/);
    assert.match(text, /if \[ -d \/var\/cache\/llm-workbench\/ccache \]; then export CCACHE_DIR=\/var\/cache\/llm-workbench\/ccache CCACHE_BASEDIR=\/tmp\/tree /);
  });

  it('passes the key as LLAMA_API_KEY in compose and kube, and probes /health', () => {
    const compose = parse(fileOf(plan, 'compose.yaml'));
    assert.equal(compose.services['model-server'].environment.LLAMA_API_KEY, '${API_KEY:?set API_KEY to the server key}');
    assert.equal(compose.services['model-server'].environment.USE_MLOCK, undefined);
    const [deployment] = parseAllDocuments(fileOf(plan, 'kube.yaml')).map((d) => d.toJS());
    const container = deployment.spec.template.spec.containers[0];
    assert.equal(container.readinessProbe.httpGet.path, '/health');
    assert.deepEqual(container.env.map((e: { name: string }) => e.name), ['LLM_WORKBENCH_BATCH_INVARIANT', 'LLM_WORKBENCH_PROMPTS_ONE_AT_A_TIME', 'MALLOC_MMAP_THRESHOLD_', 'LLAMA_API_KEY']);
  });
});

describe('rendering the guide profile', () => {
  const plan = planOf('elyza-7b');
  it('pins llama-cpp-python, spells the BLAS flags for it and starts the server with --embedding true', () => {
    const dockerfile = fileOf(plan, 'Dockerfile');
    assert.match(dockerfile, /CMAKE_ARGS='-DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS -DLLAVA_BUILD=OFF'/);
    assert.match(dockerfile, /libopenblas-dev/);
    assert.match(dockerfile, /"--chat_format","llama-2"/);
    assert.match(dockerfile, /"--embedding","true"/);
  });

  it('asks conda for MKL BLAS on x86_64 only', () => {
    assert.match(fileOf(plan, 'environment.yml'), /- blas=\*=\*mkl/);
    const arm = resolvePlan(loadProfile('elyza-7b', join(REPO_ROOT, 'env')), { repoRoot: REPO_ROOT, env: FIXED_ENV, arch: 'aarch64' });
    assert.doesNotMatch(fileOf(arm, 'environment.yml'), /mkl/);
  });

  it('installs python3 in the image when the base is plain Debian', () => {
    const loaded = loadProfile('elyza-7b', join(REPO_ROOT, 'env'));
    loaded.profile.container.base = 'localhost/debian-base:bookworm';
    const debian = resolvePlan(loaded, { repoRoot: REPO_ROOT, env: FIXED_ENV, arch: 'x86_64' });
    assert.match(fileOf(debian, 'Dockerfile'), /FROM localhost\/debian-base:bookworm AS build/);
    assert.match(fileOf(debian, 'Dockerfile'), /install -y --no-install-recommends python3 python3-venv python3-dev/);
  });
});

describe('writing rendered files', () => {
  it('reports created, then unchanged, then replaced when the profile changed', () => {
    const build = tempDir();
    const env = { ...FIXED_ENV, LLM_WORKBENCH_BUILD_DIR: build };
    const plan = planOf('default', env);
    assert.equal(writeRendered(plan, renderProfile(plan)).outcome, 'created');
    assert.equal(writeRendered(plan, renderProfile(plan)).outcome, 'unchanged');
    const changed = planOf('elyza-7b', env);
    changed.paths.buildDir = plan.paths.buildDir;
    assert.equal(writeRendered(changed, renderProfile(changed)).outcome, 'replaced');
  });

  it('removes the container files of an earlier render when the profile gains a second model', () => {
    const build = tempDir();
    const env = { ...FIXED_ENV, LLM_WORKBENCH_BUILD_DIR: build };
    const one = planOf('llama-cpp-python', env);
    writeRendered(one, renderProfile(one));
    const two = planOf('two-models', env);
    two.paths.buildDir = one.paths.buildDir;
    const result = writeRendered(two, renderProfile(two));
    assert.deepEqual([...result.removed].sort(), ['Dockerfile', 'compose.yaml', 'kube-cluster.yaml', 'kube.yaml', 'llama-cpp-patches.json', 'patch_llama_cpp.py', 'serve.py']);
    assert.equal(result.outcome, 'replaced');
    assert.ok(!existsSync(join(one.paths.buildDir, 'compose.yaml')) && existsSync(join(one.paths.buildDir, 'bashrc.sh')));
  });

  it("says a tool template no longer rendered is gone because the profile changed, not because of several models", () => {
    const build = tempDir();
    const env = { ...FIXED_ENV, LLM_WORKBENCH_BUILD_DIR: build };
    const named = planOf('default', env);
    writeRendered(named, renderProfile(named));
    const dir = profilesWith({ auto: 'extends: default\nmodel:\n  source: file:/nowhere/m.gguf\n  alias: m\n' });
    const auto = resolvePlan(loadProfile('auto', dir), { repoRoot: REPO_ROOT, env, arch: 'x86_64' });
    auto.paths.buildDir = named.paths.buildDir;
    const preview = previewRendered(auto, renderProfile(auto));
    assert.equal(preview.action, 'replace');
    assert.match(preview.why, /chatml-tools\.jinja no longer part of what this profile renders, removed/);
    assert.doesNotMatch(preview.why, /several models/);
  });

  it('leaves the previous files intact when a template fails to render', () => {
    const repo = tempDir();
    cpSync(join(REPO_ROOT, 'templates'), join(repo, 'templates'), { recursive: true });
    cpSync(join(REPO_ROOT, 'scripts', 'python'), join(repo, 'scripts', 'python'), { recursive: true });
    const build = tempDir();
    const plan = planOf('default', { ...FIXED_ENV, LLM_WORKBENCH_BUILD_DIR: build }, repo);
    writeRendered(plan, renderProfile(plan));
    const before = readFileSync(join(plan.paths.buildDir, 'Dockerfile'), 'utf8');
    // A template naming a value that does not exist fails (strict mode), after others rendered.
    writeFileSync(join(repo, 'templates', 'compose.yaml.hbs'), 'image: {{noSuchValue}}\n');
    assert.throws(() => writeRendered(plan, renderProfile(plan)), /noSuchValue/);
    assert.equal(readFileSync(join(plan.paths.buildDir, 'Dockerfile'), 'utf8'), before);
    assert.match(readFileSync(join(plan.paths.buildDir, 'compose.yaml'), 'utf8'), /model-server/);
  });

  it('never HTML-escapes values', () => {
    const loaded = loadProfile('default', join(REPO_ROOT, 'env'));
    loaded.profile.container.base = 'registry.example/python:3.11 <&>';
    const plan = resolvePlan(loaded, { repoRoot: REPO_ROOT, env: FIXED_ENV, arch: 'x86_64' });
    assert.match(fileOf(plan, 'Dockerfile'), /FROM registry\.example\/python:3\.11 <&> AS build/);
  });
});

// The GPU images: each accelerator's part of each backend's image, on a machine described by facts.
describe('rendering GPU container profiles', () => {
  const H200 = { name: 'NVIDIA H200', computeCap: '9.0', memoryMiB: 143771, driver: '580.159.04' };
  const variants = {
    // llama-server for CUDA under podman: the wheels' toolkit, CDI.
    'cuda-llama-server': {
      yaml: 'extends: default\nruntime: container\ncontainer:\n  engine: podman\naccelerator:\n  kind: cuda\n',
      facts: { ...NO_GPU_FACTS, nvidiaNodes: ['/dev/nvidia0'], nvidiaSmi: { path: '/usr/bin/nvidia-smi', gpus: [H200] }, container: { cdiSpec: '/etc/cdi/nvidia.yaml', dri: false } },
    },
    // The guide's llama_cpp.server image for a Vulkan GPU under docker: trixie's headers, /dev/dri.
    'vulkan-llama-cpp-python': {
      yaml: 'extends: elyza-7b\ncontainer:\n  engine: docker\naccelerator:\n  kind: vulkan\n',
      facts: { ...NO_GPU_FACTS, vulkan: { vulkaninfo: '/usr/bin/vulkaninfo', devices: [{ name: 'AMD Radeon 780M (RADV GFX1103_R1)', type: 'integrated' as const, driver: 'radv', apiVersion: '1.3.255' }], icdFiles: [] }, container: { dri: true } },
    },
  };
  for (const [name, { yaml, facts }] of Object.entries(variants)) {
    const dir = profilesWith({ [name]: yaml });
    const plan = resolvePlan(loadProfile(name, dir), { repoRoot: REPO_ROOT, env: FIXED_ENV, arch: 'x86_64', gpuFacts: facts });
    // The rendered templates (the context files are the repo's own, golden in default/); the
    // profiles live in a temporary folder, named in the first line as env/ would be.
    const files = renderProfile(plan).filter((f) => RENDERED_TEMPLATES.includes(f.path)).map((f) => ({ ...f, content: f.content.replaceAll(dir, 'env') }));

    it(`${name}: matches the golden files, and the Dockerfile passes the linter`, () => {
      matchGolden(name, files);
      const dockerfile = files.find((f) => f.path === 'Dockerfile')!.content;
      assert.deepEqual(validate(dockerfile).filter((d) => d.severity === 1).map((p) => p.message), []);
    });
  }

  it('cuda-llama-server: the wheels in the build stage, cudart and cuBLAS kept for ld.so, the card through CDI in compose and kube', () => {
    const plan = resolvePlan(loadProfile('cuda-llama-server', profilesWith({ 'cuda-llama-server': variants['cuda-llama-server'].yaml })), { repoRoot: REPO_ROOT, env: FIXED_ENV, arch: 'x86_64', gpuFacts: variants['cuda-llama-server'].facts });
    const dockerfile = fileOf(plan, 'Dockerfile');
    assert.match(dockerfile, /pip install --no-cache-dir --no-deps --only-binary=:all: --target \/opt\/cuda nvidia-cuda-nvcc==13\.0\.88 /);
    assert.match(dockerfile, /-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 .*-DCMAKE_CUDA_COMPILER=\/opt\/cuda\/nvidia\/cu13\/bin\/nvcc/);
    const server = dockerfile.slice(dockerfile.indexOf('AS server'));
    assert.match(server, /^COPY --from=build \/opt\/cuda\/nvidia\/cu13\/lib\/libcudart\.so\* \/opt\/cuda\/nvidia\/cu13\/lib\/libcublas\.so\* \/opt\/cuda\/nvidia\/cu13\/lib\/libcublasLt\.so\* \/opt\/cuda\/nvidia\/cu13\/lib\/$/m);
    assert.match(server, /ldconfig/);
    const jupyter = dockerfile.slice(dockerfile.indexOf('AS jupyter'), dockerfile.indexOf('AS server'));
    assert.doesNotMatch(jupyter, /cuda/, 'JupyterLab\'s image holds no CUDA');
    const compose = parse(fileOf(plan, 'compose.yaml'));
    assert.deepEqual(compose.services['model-server'].devices, ['nvidia.com/gpu=all']);
    const kube = parseAllDocuments(fileOf(plan, 'kube.yaml'))[0]!.toJS();
    assert.deepEqual(kube.spec.template.spec.containers[0].resources.limits, { 'nvidia.com/gpu=all': 1 });
    assert.ok(plan.container.command.includes('--n-gpu-layers'));
    assert.match(fileOf(plan, 'llm-workbench-cuda-llama-server.container'), /^AddDevice=nvidia\.com\/gpu=all$/m);
  });

  it("fetches a pinned Hugging Face model file by file at its commit in kube-cluster.yaml's init container, and says a file: model must be copied in", () => {
    const dir = profilesWith({
      hub: 'extends: default\nmodel:\n  source: hf:o/r:Q4_K_M\n  alias: r\n',
      mine: 'extends: default\nmodel:\n  source: file:/models/mine.gguf\n  alias: mine\n',
    });
    const env = { ...FIXED_ENV, LLM_WORKBENCH_ENV_DIR: dir };
    const source = 'hf:o/r:Q4_K_M';
    const parts = [{ path: 'r-Q4_K_M-00001-of-00002.gguf', size: 2 * 1024 ** 3, sha256: 'a'.repeat(64) }, { path: 'r-Q4_K_M-00002-of-00002.gguf', size: 1024 ** 3, sha256: 'b'.repeat(64) }];
    const hub = resolvePlan(loadProfile('hub', dir), { repoRoot: REPO_ROOT, env, arch: 'x86_64', lockedModels: { [modelId(source, undefined)]: { source, sha256: 'a'.repeat(64), revision: 'c'.repeat(40), parts } } });
    const cluster = parseAllDocuments(fileOf(hub, 'kube-cluster.yaml')).map((d) => d.toJS());
    const pod = cluster.find((o) => o.kind === 'StatefulSet').spec.template.spec;
    const spec = JSON.parse(pod.initContainers[0].command.at(-1));
    assert.deepEqual(spec.files.map((f: { url: string }) => f.url), parts.map((p) => `https://huggingface.co/o/r/resolve/${'c'.repeat(40)}/${p.path}`));
    assert.deepEqual(spec.files.map((f: { sha256: string }) => f.sha256), ['a'.repeat(64), 'b'.repeat(64)]);
    assert.equal(pod.initContainers[0].env[0].valueFrom.secretKeyRef.optional, true, 'a token for a gated repo, where the user made one');
    assert.equal(cluster.find((o) => o.kind === 'StatefulSet').spec.volumeClaimTemplates[0].spec.resources.requests.storage, '7Gi', 'the model and its download, with room');
    const mine = resolvePlan(loadProfile('mine', dir), { repoRoot: REPO_ROOT, env, arch: 'x86_64' });
    const text = fileOf(mine, 'kube-cluster.yaml');
    assert.match(text, /file:\/models\/mine\.gguf is a file on this machine, which a cluster cannot fetch: copy it into the claim/);
    assert.doesNotMatch(text, /initContainers/);
  });

  it("renders podman's quadlet file: the image's command word for word, the key as a podman secret never written in it, none for a docker profile", () => {
    const dir = profilesWith({ keyed: 'extends: default\nserver:\n  api_key: generate\n', dock: 'extends: default\ncontainer:\n  engine: docker\n' });
    const env = { ...FIXED_ENV, LLM_WORKBENCH_ENV_DIR: dir };
    const keyed = resolvePlan(loadProfile('keyed', dir), { repoRoot: REPO_ROOT, env, arch: 'x86_64' });
    const quadlet = fileOf(keyed, 'llm-workbench-keyed.container');
    const exec = /^Exec=(.*)$/m.exec(quadlet)![1]!;
    assert.deepEqual(JSON.parse(`[${exec.replace(/" "/g, '", "')}]`), keyed.container.command, 'every word of the command make plan prints');
    assert.match(quadlet, /^Secret=llm-workbench-keyed-api-key,type=env,target=LLAMA_API_KEY$/m);
    assert.match(quadlet, /^#\s+podman secret create llm-workbench-keyed-api-key \/home\/user\/\.local\/state\/llm-workbench\/keyed\/api-key$/m);
    assert.match(quadlet, /^PublishPort=127\.0\.0\.1:8080:8080$/m);
    assert.doesNotMatch(quadlet, /^AddDevice=/m, 'a CPU container is given no device');
    const dock = resolvePlan(loadProfile('dock', dir), { repoRoot: REPO_ROOT, env, arch: 'x86_64' });
    assert.equal(renderProfile(dock).some((f) => f.path.endsWith('.container')), false);
  });

  it('vulkan-llama-cpp-python: the wheel built for Vulkan against trixie\'s headers checked by sha256, /dev/dri in compose', () => {
    const plan = resolvePlan(loadProfile('vulkan-llama-cpp-python', profilesWith({ 'vulkan-llama-cpp-python': variants['vulkan-llama-cpp-python'].yaml })), { repoRoot: REPO_ROOT, env: FIXED_ENV, arch: 'x86_64', gpuFacts: variants['vulkan-llama-cpp-python'].facts });
    const dockerfile = fileOf(plan, 'Dockerfile');
    assert.match(dockerfile, /libvulkan-dev_1\.4\.309\.0-1_amd64\.deb \/tmp\/headers\.deb && echo '8d329d465e16168afff58b1bd0dd6db46aac2cc3f56054a481b25a04e90b345a  \/tmp\/headers\.deb' \| sha256sum --check/);
    assert.match(dockerfile, /CMAKE_ARGS='[^']*-DGGML_VULKAN=ON -DVulkan_INCLUDE_DIR=\/opt\/vulkan-headers\/usr\/include /);
    assert.match(dockerfile.slice(dockerfile.indexOf('AS server')), /apt-get install -y --no-install-recommends libvulkan1 mesa-vulkan-drivers/);
    const compose = parse(fileOf(plan, 'compose.yaml'));
    assert.deepEqual(compose.services['model-server'].devices, ['/dev/dri:/dev/dri']);
    assert.ok(plan.container.command.includes('--n_gpu_layers'));
  });

  it('a CPU container profile renders what it always did: no toolkit, no device (the default goldens above)', () => {
    const plan = planOf('elyza-7b');
    assert.equal(plan.accelerator.name, 'cpu');
    assert.doesNotMatch(fileOf(plan, 'compose.yaml'), /devices|deploy/);
  });
});
