/**
 * What `make doctor` checks: each finding says what was found and, when it is a problem, the
 * fix. Failures stop `make provision` before anything is changed.
 */
import { existsSync, statfsSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { gpuFacts } from '../accelerator/facts.ts';
import { acceleratorNamed, AUTO_ORDER } from '../accelerator/index.ts';
import { platformFacts, wslVersion, type PlatformFacts } from '../machine/platform.ts';
import { wslFindings } from '../machine/wsl.ts';
import { jupyterStatus } from '../jupyter/jupyter.ts';
import { probePort, unusablePort } from '../process/ports.ts';
import type { Health } from '../process/service.ts';
import { findCondaTool } from '../python-env/index.ts';
import { backendFor } from '../backend/index.ts';
import { tryOutput, which } from '../process/run.ts';
import { formerServers, runtimeFor } from '../runtime/index.ts';
import { heldByOtherProfile, otherProfileOnPort, stateRootOf } from '../state/serving.ts';
import { isLoopback } from '../profile/rules.ts';
import type { Finding, GpuFacts, Plan } from '../plan/index.ts';

const GB = 1024 ** 3;

function existingAncestor(path: string): string {
  let current = path;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

/**
 * Every finding, concern by concern, in the order make doctor prints them. A new concern is one
 * more function here.
 */
export async function preflight(plan: Plan): Promise<Finding[]> {
  const findings: Finding[] = [nodeFinding()];
  findings.push(...(await pythonFindings(plan)));
  const build = llamaCppFinding(plan);
  findings.push(build.finding);
  const resources = resourceFindings(plan, build.cached);
  findings.push(...resources.findings);
  findings.push(...(await portFindings(plan)));
  findings.push(...(await platformFindings(plan, resources.modelBytes)));
  findings.push(...acceleratorFindings(plan, gpuFacts()));
  findings.push(...toolFindings(plan));
  findings.push(containerEngineFinding(plan));
  findings.push(...rpcFindings(plan));
  return findings;
}

/**
 * llama.cpp's RPC has no authentication and no encryption (its README: never run the RPC server
 * on an open network): whoever reaches a worker can run any computation on it and read the
 * weights and activations sent to it. Said for the server's workers and for this machine as one.
 */
export function rpcFindings(plan: Pick<Plan, 'distributed'>): Finding[] {
  const distributed = plan.distributed;
  if (!distributed) return [];
  const fix = 'keep workers on a network only your machines reach (WireGuard or another VPN, a private VLAN) and firewall their port to the server; or bind each worker to 127.0.0.1 and reach it through ssh -L <port>:127.0.0.1:<port> <worker>';
  const findings: Finding[] = [];
  if (distributed.workers.length) {
    findings.push({ check: 'rpc workers', status: 'warn', detail: `the model is spread over ${distributed.workers.map((w) => w.endpoint).join(', ')}: unauthenticated and unencrypted (llama.cpp's RPC), so the weights and every prompt's activations cross that network in the clear`, fix });
  }
  const { host, endpoint } = distributed.worker;
  findings.push(
    isLoopback(host)
      ? { check: 'rpc worker', status: 'info', detail: `make rpc-worker binds ${endpoint}: loopback, reached by this machine only (RPC_HOST=<address> for another machine's server)` }
      : { check: 'rpc worker', status: 'warn', detail: `make rpc-worker binds ${endpoint}: anyone who reaches it can run work on this machine (llama.cpp's RPC has no authentication)`, fix },
  );
  return findings;
}

function nodeFinding(): Finding {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  return major > 20 || (major === 20 && minor >= 5)
    ? { check: 'node', status: 'ok', detail: `v${process.versions.node}` }
    : { check: 'node', status: 'fail', detail: `v${process.versions.node}`, fix: 'install Node.js 20.5 or newer' };
}

/** A Python with venv for the env (or conda, which brings its own). */
async function pythonFindings(plan: Plan): Promise<Finding[]> {
  const findings: Finding[] = [];
  const python = which(`python${plan.python.version}`) ?? which('python3');
  const pythonVersion = python ? await tryOutput([python, '-c', 'import sys, venv, ensurepip; print("%d.%d.%d" % sys.version_info[:3])']) : undefined;
  if (!python) findings.push({ check: 'python', status: 'fail', detail: 'no python3 on PATH', fix: 'install Python 3 (Debian/Ubuntu: sudo apt-get install python3 python3-venv)' });
  else if (!pythonVersion) findings.push({ check: 'python', status: 'fail', detail: `${python} lacks venv/ensurepip`, fix: 'Debian/Ubuntu: sudo apt-get install python3-venv' });
  else {
    const same = pythonVersion.startsWith(`${plan.python.version}.`);
    findings.push({
      check: 'python',
      status: same || findCondaTool() ? 'ok' : 'info',
      detail: `${python} ${pythonVersion}${same ? '' : ` (the profile asks ${plan.python.version}; the venv route uses this one, conda would install ${plan.python.version})`}`,
    });
  }
  const conda = findCondaTool();
  findings.push(
    conda
      ? { check: 'conda', status: 'ok', detail: `${conda.tool} at ${conda.path}` }
      : plan.python.manager === 'conda'
        ? { check: 'conda', status: 'fail', detail: 'none of micromamba, mamba, conda found', fix: 'install Miniforge or micromamba, or set python.manager: auto' }
        : { check: 'conda', status: 'info', detail: 'not found: the Python env will be a venv' },
  );
  return findings;
}

/** What the host compiles for the server, and whether it can. */
function llamaCppFinding(plan: Plan): { finding: Finding; cached: boolean } {
  const build = backendFor(plan).hostBuild;
  const cached = plan.runtimeTraits.buildsOnHost && build.cached(plan);
  const compilers = ['cc', 'c++'].filter((c) => !which(c));
  const finding: Finding = !plan.runtimeTraits.buildsOnHost
    ? { check: 'llama.cpp', status: 'info', detail: 'nothing compiled on the host: the image serves' }
    : cached
      ? { check: 'llama.cpp', status: 'ok', detail: `${plan.server.backend}: ${build.what} built and cached` }
      : compilers.length === 0
        ? { check: 'llama.cpp', status: 'ok', detail: `${plan.server.backend}: not built yet: ${build.what} will be compiled from llama-cpp-python ${plan.llamaCpp.version}'s llama.cpp (a few minutes)` }
        : { check: 'llama.cpp', status: 'fail', detail: `${plan.server.backend}: not built yet, and no ${compilers.join(', ')} to build it`, fix: 'Debian/Ubuntu: sudo apt-get install build-essential (make provision installs it when it can)' };
  return { finding, cached };
}

/** Disk for what is still to fetch and build, memory for what is loaded. */
function resourceFindings(plan: Plan, buildCached: boolean): { findings: Finding[]; modelBytes: number } {
  const sizesGb = plan.models.map((model) => (model.sizeMb ?? 0) / 1024);
  const missingGb = plan.models.reduce((sum, model, i) => sum + (existsSync(model.path) ? 0 : sizesGb[i]!), 0);
  const diskDir = existingAncestor(plan.paths.cacheDir);
  const stats = statfsSync(diskDir);
  const freeGb = (stats.bavail * stats.bsize) / GB;
  const needGb = missingGb + (buildCached || !plan.runtimeTraits.buildsOnHost ? 0.5 : 2);
  const totalGb = totalmem() / GB;
  // Every model loaded at once (llama-server's router), or one at a time (llama_cpp.server).
  const loadedGb = backendFor(plan).loadsEveryModel ? sizesGb.reduce((a, b) => a + b, 0) : Math.max(...sizesGb);
  const ramNeed = loadedGb * 1.2 + 0.5;
  const needs = plan.models.length > 1 ? 'the models need' : 'the model needs';
  return {
    modelBytes: ramNeed * GB,
    findings: [
      freeGb >= needGb
        ? { check: 'disk', status: 'ok', detail: `${freeGb.toFixed(1)} GB free in ${diskDir} (need about ${needGb.toFixed(1)} GB)` }
        : { check: 'disk', status: 'fail', detail: `${freeGb.toFixed(1)} GB free in ${diskDir}, need about ${needGb.toFixed(1)} GB`, fix: 'free some space or point LLM_WORKBENCH_CACHE_DIR at a larger disk' },
      totalGb >= ramNeed
        ? { check: 'memory', status: 'ok', detail: `${totalGb.toFixed(1)} GB total, ${(freemem() / GB).toFixed(1)} GB free; ${needs} about ${ramNeed.toFixed(1)} GB` }
        : { check: 'memory', status: 'warn', detail: `${totalGb.toFixed(1)} GB total; ${needs} about ${ramNeed.toFixed(1)} GB`, fix: 'choose a smaller quantization, or expect swapping' },
      coresFinding(plan.server),
      ...idleSleepFinding(plan.server, ramNeed, totalGb, backendFor(plan).idleSleep !== undefined),
    ],
  };
}

/**
 * A model that takes most of the memory holds it while nobody asks anything: where the backend
 * can sleep and the profile does not, say how to get it back (Ollama unloads after 5 idle minutes).
 */
export function idleSleepFinding(server: Pick<Plan['server'], 'idleSleepSeconds'>, modelGb: number, totalGb: number, canSleep: boolean): Finding[] {
  if (server.idleSleepSeconds) return [{ check: 'idle sleep', status: 'ok', detail: `the model's memory is given back after ${server.idleSleepSeconds} s without a request` }];
  if (!canSleep || modelGb < totalGb / 2) return [];
  return [{ check: 'idle sleep', status: 'info', detail: `the model holds about ${modelGb.toFixed(1)} of ${totalGb.toFixed(1)} GB for as long as the server runs, used or not`, fix: 'set server.idle_sleep: 10m to give it back after 10 idle minutes (the next request loads it again)' }];
}

/** The server's threads, and with whom n_threads: auto shares the cores. */
export function coresFinding(server: Pick<Plan['server'], 'nThreads' | 'nThreadsBatch' | 'threadsAuto' | 'coresShared'>): Finding {
  const threads = `decode threads ${server.nThreads}, prompt threads ${server.nThreadsBatch}`;
  if (!server.threadsAuto) return { check: 'cpu', status: 'ok', detail: `${threads} (server.n_threads)` };
  const shared = server.coresShared;
  if (!shared) return { check: 'cpu', status: 'ok', detail: `${threads} (n_threads: auto: every core)` };
  const others = shared.with.map((sharer) => `profile ${sharer.profile} (${sharer.url})`).join(', ');
  return {
    check: 'cpu',
    status: 'info',
    detail: `${threads}: n_threads: auto gives this server ${shared.cores} of the ${shared.of} cores, shared with ${others} already serving (two servers that each take every core decode several times slower than two that split them)`,
    // Measured (README, "Two stacks on one machine"): the first keeps every core until it restarts,
    // and two servers decoding at once split evenly serve 1.6 times what they do so.
    fix: `to split evenly, restart what came first (${shared.with.map((sharer) => `make down PROFILE=${sharer.profile}, then make provision PROFILE=${sharer.profile}`).join('; ')}): it kept the cores it started with; or set server.n_threads`,
  };
}

/** The server's and JupyterLab's ports: free, ours, or whose. */
async function portFindings(plan: Plan): Promise<Finding[]> {
  const server = await runtimeFor(plan).status(plan);
  const former = server.health === 'stopped' ? (await formerServers(plan))[0] : undefined;
  const findings: Finding[] = [
    former
      ? { check: 'server.port', status: 'ok', detail: `${plan.server.host}:${plan.server.port} held by our ${former.runtime.describe(plan)} of runtime ${former.runtime.kind}, which step 40 stops before it starts the ${plan.runtime} one` }
      : await portFinding('server.port', plan.server.host, plan.server.port, server.health !== 'stopped' ? server.health : undefined, plan),
  ];
  if (plan.jupyter.enabled) {
    const jupyter = await jupyterStatus(plan);
    findings.push(await portFinding('jupyter.port', plan.jupyter.host, plan.jupyter.port, jupyter.health !== 'stopped' ? jupyter.health : undefined, plan));
  }
  return findings;
}

/** Linux or WSL, and on WSL what bites there (idle shutdown, memory, /mnt, Docker Desktop). */
async function platformFindings(plan: Plan, modelBytes: number): Promise<Finding[]> {
  const platform = await platformFacts();
  return [
    platformFinding(platform),
    ...wslFindings(platform, {
      inContainer: plan.runtimeTraits.inContainer,
      modelBytes,
      paths: { repo: plan.paths.repoRoot, cache: plan.paths.cacheDir, envs: plan.paths.dataDir },
    }),
  ];
}

/** How each model's tools are answered (or why they cannot be). */
function toolFindings(plan: Plan): Finding[] {
  return plan.models.map((model) => {
    const tools = backendFor(plan).toolRoute(model);
    return { check: plan.models.length > 1 ? `tools ${model.alias}` : 'tools', status: 'info', detail: tools.unsupported ? `${tools.route}: not supported (${tools.unsupported})` : tools.route };
  });
}

function containerEngineFinding(plan: Plan): Finding {
  const engines = ['docker', 'podman'].filter((e) => which(e));
  return engines.length
    ? { check: 'containers', status: 'ok', detail: `found ${engines.join(', ')}` }
    : plan.runtimeTraits.inContainer
      ? { check: 'containers', status: 'fail', detail: 'neither docker nor podman found', fix: 'install Podman (sudo apt-get install podman) or Docker, or set runtime: native' }
      : { check: 'containers', status: 'info', detail: `neither docker nor podman found (not needed: runtime is ${plan.runtime})` };
}

/** WSL 2 forwards localhost to Windows, so loopback binds lose nothing there (docs/decisions.md#secrets-and-exposure). */
function platformFinding(platform: PlatformFacts): Finding {
  if (!platform.procVersion) return { check: 'platform', status: 'info', detail: process.platform };
  return wslVersion(platform.procVersion)
    ? { check: 'platform', status: 'ok', detail: 'WSL: services on 127.0.0.1 are reachable from Windows at http://localhost:<port>' }
    : { check: 'platform', status: 'ok', detail: `Linux ${platform.procVersion.split(' ')[2] ?? ''}`.trim() };
}

/**
 * Users ask most why a GPU was not used: the choice and why, then every fact it rests on, each
 * with its fix (accelerator/*). A GPU asked for that this machine cannot run stops here, before
 * anything is built.
 */
export function acceleratorFindings(plan: Plan, facts: GpuFacts): Finding[] {
  const choice = plan.accelerator;
  const findings: Finding[] = [
    choice.blocked
      ? { check: 'accelerator', status: 'fail', detail: `${choice.name} asked for: ${choice.blocked.missing}`, fix: `${choice.blocked.fix}; or accelerator.kind: auto (or required: false) to serve on what this machine has` }
      : { check: 'accelerator', status: 'ok', detail: `${choice.name} on ${choice.device}: ${choice.why}` },
  ];
  if (plan.runtimeTraits.buildsOnHost) for (const name of AUTO_ORDER) findings.push(...acceleratorNamed(name).findings(facts));
  const modelMiB = plan.models.reduce((sum, model) => sum + (model.sizeMb ?? 0), 0);
  if (choice.deviceMemoryMiB && modelMiB > choice.deviceMemoryMiB * 0.9) {
    findings.push({ check: 'gpu memory', status: 'warn', detail: `the model${plan.models.length > 1 ? 's' : ''} (${modelMiB} MB) will not fit in ${choice.deviceMemoryMiB} MiB: only some layers are offloaded`, fix: 'choose a smaller quantization, or set accelerator.gpu_layers' });
  }
  return findings;
}

async function portFinding(field: string, host: string, port: number, ours: Health | undefined, plan: Plan): Promise<Finding> {
  if (ours) return { check: field, status: 'ok', detail: `${host}:${port} held by our own service (${ours === 'ready' ? 'answering' : ours})` };
  const probe = await probePort(host, port);
  if (probe.state === 'free') return { check: field, status: 'ok', detail: `${host}:${port} free` };
  if (probe.state === 'unusable') {
    const error = unusablePort(host, port, field, probe);
    return { check: field, status: 'fail', detail: error.message, fix: error.hint };
  }
  const other = otherProfileOnPort(stateRootOf(plan.paths.stateDir), port, plan.profile.name);
  if (other) {
    const held = heldByOtherProfile(other, field, plan.profile.files.at(-1) ?? 'the profile');
    return { check: field, status: 'fail', detail: `${host}:${port} ${held.message}`, fix: held.fix };
  }
  return { check: field, status: 'fail', detail: `${host}:${port} is in use by another program`, fix: `stop it (ss -ltnp 'sport = :${port}') or change ${field} in the profile` };
}

export function formatFinding(finding: Finding): string {
  return `  ${finding.status.padEnd(5)} ${finding.check.padEnd(13)} ${finding.detail}${finding.fix ? `\n        fix: ${finding.fix}` : ''}`;
}
