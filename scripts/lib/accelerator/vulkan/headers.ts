/**
 * Vulkan headers new enough for this llama.cpp. Its ggml-vulkan.cpp uses VK_EXT_layer_settings
 * (vk::LayerSettingEXT, vk::LayerSettingsCreateInfoEXT), which Debian bookworm's headers
 * (libvulkan-dev 1.3.239) lack: the compile stops at ggml-vulkan.cpp:5214. Debian trixie's
 * (1.4.309) have it. Headers only: they are taken from trixie's packages, pinned by the sha256
 * that trixie's signed index gives, unpacked into the cache, and the build still links the
 * machine's own loader (libvulkan.so.1, which passes the extension's struct through).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WorkbenchError } from '../../errors.ts';
import { sha256Hex } from '../../fingerprint.ts';
import { runLogged, which } from '../../process/run.ts';
import { shellQuote } from '../../render/quote.ts';
import type { ImageToolchain } from '../../plan/index.ts';

/** What this llama.cpp needs of the headers (a macro vulkan_core.h defines for the extension). */
export const NEEDED_EXTENSION = 'VK_EXT_layer_settings';
export const SYSTEM_HEADER = '/usr/include/vulkan/vulkan_core.h';

const MIRROR = 'http://deb.debian.org/debian';
export const NEWER_HEADERS = {
  version: '1.4.309',
  packages: [
    { file: 'pool/main/v/vulkan-loader/libvulkan-dev_1.4.309.0-1_amd64.deb', sha256: '8d329d465e16168afff58b1bd0dd6db46aac2cc3f56054a481b25a04e90b345a' },
    { file: 'pool/main/s/spirv-headers/spirv-headers_1.6.1+1.4.309.0-1_all.deb', sha256: 'dc18db866d63680351c40ac6b6bece34cb52da64a7799ce1cc4f16f6bff4d064' },
  ],
} as const;

export function headerVersion(text: string): number | undefined {
  const match = /#define VK_HEADER_VERSION (\d+)/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Whether the headers at `file` have what this llama.cpp uses. */
export function headersSuffice(file: string = SYSTEM_HEADER): boolean {
  return existsSync(file) && readFileSync(file, 'utf8').includes(`#define ${NEEDED_EXTENSION} 1`);
}

/** The unpacked headers' prefix (`usr/include`, `usr/share/cmake/SPIRV-Headers` under it), fetched once. */
export async function ensureNewerHeaders(cacheDir: string, logFile: string): Promise<string> {
  const prefix = join(cacheDir, 'vulkan-headers', NEWER_HEADERS.version);
  if (headersSuffice(join(prefix, SYSTEM_HEADER))) return prefix;
  if (!which('dpkg-deb')) throw new WorkbenchError(`this llama.cpp needs Vulkan headers with ${NEEDED_EXTENSION} (1.3.261 or newer)`, 'install the Vulkan SDK (https://vulkan.lunarg.com) and set VULKAN_SDK, or use accelerator.kind: cpu');
  const staging = `${prefix}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  console.log(`  this llama.cpp needs Vulkan headers with ${NEEDED_EXTENSION}; the machine's are older: fetching Debian trixie's ${NEWER_HEADERS.version} headers (2 MB, once)`);
  for (const { file, sha256 } of NEWER_HEADERS.packages) {
    const url = `${MIRROR}/${file}`;
    let bytes: Buffer;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      bytes = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw new WorkbenchError(`could not fetch ${url}: ${(error as Error).message}`, 'deb.debian.org must be reachable (or install Vulkan headers 1.3.261 or newer and rerun)');
    }
    if (sha256Hex(bytes) !== sha256) {
      rmSync(staging, { recursive: true, force: true });
      throw new WorkbenchError(`${url} does not have the sha256 Debian's index gives (${sha256})`, 'a proxy or mirror changed it; try again, or another network');
    }
    const deb = join(staging, 'package.deb');
    writeFileSync(deb, bytes);
    await runLogged(['dpkg-deb', '-x', deb, staging], { label: `unpacking ${file.split('/').pop()}`, logFile, hint: `read ${logFile}` });
    rmSync(deb);
  }
  if (!headersSuffice(join(staging, SYSTEM_HEADER))) throw new WorkbenchError(`Debian trixie's headers lack ${NEEDED_EXTENSION}`, 'install the Vulkan SDK and set VULKAN_SDK');
  mkdirSync(dirname(prefix), { recursive: true });
  rmSync(prefix, { recursive: true, force: true });
  renameSync(staging, prefix);
  return prefix;
}

/**
 * The images' Vulkan: Debian's loader, glslc and SPIR-V headers, and trixie's headers fetched in
 * the build stage as the host fetches them (same files, same sha256) into /opt/vulkan-headers;
 * the serving stage has the loader and Mesa's drivers (lavapipe, radv, anv).
 */
const IMAGE_HEADERS = '/opt/vulkan-headers';
export const IMAGE_VULKAN: ImageToolchain = {
  buildPackages: ['libvulkan-dev', 'glslc', 'spirv-headers'],
  runtimePackages: ['libvulkan1', 'mesa-vulkan-drivers'],
  fetch: [
    `mkdir -p ${IMAGE_HEADERS}`,
    ...NEWER_HEADERS.packages.flatMap(({ file, sha256 }) => [
      `python3 -c ${shellQuote('import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])')} ${shellQuote(`${MIRROR}/${file}`)} /tmp/headers.deb`,
      `echo ${shellQuote(`${sha256}  /tmp/headers.deb`)} | sha256sum --check --quiet -`,
      `dpkg-deb -x /tmp/headers.deb ${IMAGE_HEADERS}`,
    ]),
    'rm /tmp/headers.deb',
  ].join(' && '),
  configureArgs: [`-DVulkan_INCLUDE_DIR=${join(IMAGE_HEADERS, 'usr', 'include')}`, `-DSPIRV-Headers_DIR=${join(IMAGE_HEADERS, 'usr', 'share', 'cmake', 'SPIRV-Headers')}`],
  runtimeLibraryDirs: [],
  runtimeLibraries: [],
  toolchainKey: `vulkan-image-headers-${NEWER_HEADERS.version}`,
};
