/**
 * The server image (and compose's JupyterLab image): built from the rendered Dockerfile, tagged
 * by a hash of the build context, so an unchanged profile never rebuilds and a changed one always does.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { detectEngine } from '../engine/index.ts';
import { compilerCacheDir, IMAGE_COMPILER_CACHE } from '../llama-cpp/compiler-cache.ts';
import type { BuildSpec, ContainerEngine } from '../engine/types.ts';
import { displayPath, WorkbenchError } from '../errors.ts';
import type { Preview, StepResult } from '../outcome.ts';
import { readLock, updateLock } from '../state/lock-file.ts';
import { stageWebUiForImage } from '../llama-cpp/web-ui.ts';
import { freshlyRendered, renderProfile } from '../render/render.ts';
import type { Plan } from '../plan/index.ts';

/** The image tags for the rendered build context: one by content hash, one by profile name. */
export function imageTags(plan: Plan): { byHash: string; byProfile: string } {
  // The hash of what render writes for this plan (the same bytes as build/<profile>/), so a
  // plan can name the tag before anything is rendered.
  const files = renderProfile(plan).filter((f) => f.path === 'Dockerfile' || f.path === 'serve.py');
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file.path}\0`).update(file.path === 'Dockerfile' ? withoutComments(file.content) : file.content);
  return {
    byHash: `localhost/${plan.container.image}:${hash.digest('hex').slice(0, 12)}`,
    byProfile: `localhost/${plan.container.image}:${plan.profile.name}`,
  };
}

/**
 * A Dockerfile as the builder reads it: comment lines (the profile files it was rendered from,
 * which name this machine's paths) build nothing, so they do not change the tag. Two profiles
 * that build the same image share it, and an image exported from one engine serves the other.
 */
export function withoutComments(dockerfile: string): string {
  return dockerfile
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
}

/**
 * The host's CA bundle, handed to the build as a secret: pip inside the build then trusts what
 * the host trusts (a TLS-inspecting proxy's CA included), without it entering the image.
 */
export function hostCaBundle(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env.PIP_CERT, env.SSL_CERT_FILE, env.REQUESTS_CA_BUNDLE, '/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];
  return candidates.find((file) => file !== undefined && file !== '' && existsSync(file));
}

export function buildSecrets(): Record<string, string> {
  const ca = hostCaBundle();
  return ca ? { 'ca-bundle': ca } : {};
}

/**
 * `--network` for build steps, from LLM_WORKBENCH_BUILD_NETWORK: `host` where containers on the
 * default bridge have no DNS (a Docker daemon run with --iptables=false). Unset: the engine's default.
 */
export function buildNetwork(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const network = env.LLM_WORKBENCH_BUILD_NETWORK;
  if (network === undefined || network === '') return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(network)) {
    throw new WorkbenchError(`LLM_WORKBENCH_BUILD_NETWORK is "${network}", not a network name`, 'use host, or a network your engine lists (docker network ls)');
  }
  return network;
}

/** How an image of this plan is built: the same for the server image and the JupyterLab one. */
export function buildSpec(plan: Plan, tags: string[], target: 'server' | 'jupyter'): BuildSpec {
  const network = buildNetwork();
  // The compiler cache the host's builds use, for an image that compiles llama.cpp (podman mounts it).
  mkdirSync(compilerCacheDir(plan), { recursive: true });
  const volumes = [{ host: compilerCacheDir(plan), container: IMAGE_COMPILER_CACHE.dir, readOnly: false }];
  return { context: plan.paths.buildDir, tags, target, secrets: buildSecrets(), volumes, ...(network ? { network } : {}), logFile: join(plan.paths.stateDir, 'image-build.log') };
}

function megabytes(bytes: number | undefined): string {
  return bytes === undefined ? 'size unknown' : `${Math.round(bytes / 1e6)} MB`;
}

/** What ensureImage would do, and why. */
export async function previewImage(plan: Plan): Promise<Preview> {
  if (!plan.runtimeTraits.hasImageStep) return { action: 'skip', why: `runtime is ${plan.runtime}` };
  const engine = await detectEngine(plan.container.engine);
  const tags = imageTags(plan);
  const drift = await baseDrift(plan, engine);
  if (await engine.imageExists(tags.byHash)) return { action: 'keep', why: `${tags.byHash} exists (${engine.name})${drift ? `; ${drift}` : ''}` };
  const why = `${tags.byHash} with ${engine.name}: compiles llama.cpp in the image for ${plan.accelerator.name} (${plan.accelerator.why}; minutes, unless the build cache mount has it)`;
  return (await engine.imageExists(tags.byProfile)) ? { action: 'replace', why: `the build context changed: ${why}` } : { action: 'create', why };
}

/** The base image differs from the one the lock recorded: say so (a rebuild would use the new one). */
async function baseDrift(plan: Plan, engine: ContainerEngine): Promise<string | undefined> {
  const locked = readLock(plan.paths.lockFile).image;
  if (!locked || locked.base !== plan.container.base) return undefined;
  const id = await engine.imageId(plan.container.base);
  return id && id !== locked.id ? `drift: container.base ${plan.container.base} is ${id.slice(0, 19)} here, the lock says ${locked.id.slice(0, 19)}` : undefined;
}

/** Points `tag` at `image` (same engine); a failure shows later, where the tag is used. */
export async function tagImage(engine: ContainerEngine, image: string, tag: string): Promise<void> {
  const [command, ...args] = engine.command('tag', image, tag);
  await execa(command as string, args, { reject: false, stdin: 'ignore' });
}

/** Builds the server image unless an image of this exact build context exists. */
export async function ensureImage(plan: Plan, engine?: ContainerEngine): Promise<StepResult> {
  const eng = engine ?? (await detectEngine(plan.container.engine));
  const tags = imageTags(plan);
  // The tag is a hash of this render: build from these very bytes (a step run alone after an edit).
  freshlyRendered(plan, 'Dockerfile');
  if (await eng.imageExists(tags.byHash)) {
    // compose and kube name the profile tag: point it at this image (another profile, or another
    // engine through an export, may have made it; the tag may name an older build).
    await tagImage(eng, tags.byHash, tags.byProfile);
    // A profile whose lock names no image yet (a second checkout, a profile sharing another's
    // build) records it now; one already recorded keeps its id, so drift stays visible.
    if (readLock(plan.paths.lockFile).image?.base !== plan.container.base) await recordImage(plan, eng);
    return { outcome: 'unchanged', detail: `${tags.byHash} (${megabytes(await eng.imageSize(tags.byHash))}, ${eng.name})` };
  }
  if (!(await eng.imageExists(plan.container.base))) {
    const complaint = await eng.pull(plan.container.base);
    if (complaint !== undefined) {
      throw new WorkbenchError(
        `the base image ${plan.container.base} (container.base) is not on this machine and cannot be pulled: ${complaint}`,
        `set container.base in ${plan.profile.files[plan.profile.files.length - 1]} to an image you have (${eng.name} images lists them), ` +
          `or make one without a registry: debootstrap --variant=minbase bookworm DIR && tar -C DIR -c . | ${eng.name} import - localhost/debian-base:bookworm`,
      );
    }
  }
  if (plan.server.webUi) await stageWebUiForImage(plan, plan.paths.buildDir);
  const replacing = await eng.imageExists(tags.byProfile);
  console.log(`  building ${tags.byHash} with ${eng.name} from ${displayPath(plan.paths.buildDir)}/Dockerfile (base ${plan.container.base})`);
  await eng.build(buildSpec(plan, [tags.byHash, tags.byProfile], 'server'));
  await recordImage(plan, eng);
  return { outcome: replacing ? 'replaced' : 'created', detail: `${tags.byHash} (${megabytes(await eng.imageSize(tags.byHash))}, ${eng.name})` };
}

/** The lock's `image`: the base's id, and for a GPU image what it was built for with which toolkit. */
async function recordImage(plan: Plan, engine: ContainerEngine): Promise<void> {
  const baseId = await engine.imageId(plan.container.base);
  // A CPU image's entry is as it was before GPU images existed.
  const gpu = plan.accelerator.toolchainKey ? { accelerator: plan.accelerator.name, toolchain: plan.accelerator.toolchainKey } : {};
  if (baseId) updateLock(plan.paths.lockFile, (lock) => void (lock.image = { base: plan.container.base, id: baseId, ...gpu }));
}
