/**
 * Vulkan: any GPU with a Vulkan driver (NVIDIA, AMD, Intel; Mesa's drivers), built with Debian's
 * headers and glslc. Mesa's lavapipe is a Vulkan device on the CPU: a real device that a profile
 * may name (CI serves on it), never what `auto` picks, since llama.cpp's CPU code is faster.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WorkbenchError } from '../../errors.ts';
import { runLogged, which } from '../../process/run.ts';
import { NO_TOOLCHAIN, type Accelerator } from '../types.ts';
import { ensureNewerHeaders, headersSuffice, IMAGE_VULKAN, NEWER_HEADERS } from './headers.ts';
import type { Finding, GpuFacts, VulkanDevice } from '../../plan/index.ts';

const INSTALL_BUILD = 'Debian/Ubuntu: sudo apt-get install libvulkan-dev glslc spirv-headers';
const SPIRV_HEADERS = '/usr/share/cmake/SPIRV-Headers/SPIRV-HeadersConfig.cmake';
const INSTALL = 'Debian/Ubuntu: sudo apt-get install mesa-vulkan-drivers vulkan-tools (and the GPU vendor\'s driver)';

function describe(device: VulkanDevice): string {
  return `${device.name} (${device.type === 'cpu' ? 'a CPU device' : `${device.type} GPU`}, ${device.driver || 'driver ?'}, Vulkan ${device.apiVersion || '?'})`;
}

export const vulkanAccelerator: Accelerator = {
  name: 'vulkan',
  label: 'Vulkan',
  batchInvariant: false,
  promptsOneAtATime: false,
  device(facts, { forAuto }) {
    const { vulkan } = facts;
    if (!vulkan.vulkaninfo) return { usable: false, missing: 'no vulkaninfo to list Vulkan devices', fix: INSTALL };
    if (vulkan.error) return { usable: false, missing: `vulkaninfo failed: ${vulkan.error}`, fix: vulkan.icdFiles.length ? 'the Vulkan driver named in the ICD files does not load: reinstall it' : `no Vulkan driver (no ICD file in /usr/share/vulkan/icd.d): ${INSTALL}` };
    const gpus = vulkan.devices.filter((d) => d.type !== 'cpu');
    const chosen = gpus[0] ?? (forAuto ? undefined : vulkan.devices[0]);
    if (!chosen) {
      return vulkan.devices.length
        ? { usable: false, missing: `only CPU Vulkan devices (${vulkan.devices.map((d) => d.name).join(', ')}): llama.cpp's CPU code is faster than those`, fix: 'install the GPU\'s Vulkan driver, or name accelerator.kind: vulkan to use the CPU device anyway' }
        : { usable: false, missing: 'vulkaninfo lists no device', fix: INSTALL };
    }
    if (chosen.type !== 'cpu') return { usable: true, device: describe(chosen) };
    const cpuIndex = String(vulkan.devices.indexOf(chosen));
    // ggml-vulkan skips CPU devices unless named (ggml-vulkan.cpp: "If only CPU devices are
    // available, return without devices"); GGML_VK_VISIBLE_DEVICES names it, by vulkaninfo's index.
    return {
      usable: true,
      device: describe(chosen),
      note: 'a CPU Vulkan device: a real Vulkan device, slower than the CPU backend',
      serverEnv: { GGML_VK_VISIBLE_DEVICES: cpuIndex },
      onCpu: true,
    };
  },
  cmakeArgs: () => ['-DGGML_VULKAN=ON'],
  // The headers are part of what is built: the machine's when they suffice, else trixie's.
  toolchainKey: (facts) => (facts.vulkan.headers?.suffice ? `vulkan-system-headers-${facts.vulkan.headers.version ?? '?'}` : `vulkan-headers-${NEWER_HEADERS.version}`),
  findings(facts: GpuFacts): Finding[] {
    const { vulkan } = facts;
    if (!vulkan.vulkaninfo) return [{ check: 'vulkan', status: 'info', detail: `no vulkaninfo (${vulkan.icdFiles.length} ICD files)`, fix: INSTALL }];
    if (vulkan.error) return [{ check: 'vulkan', status: 'warn', detail: `vulkaninfo failed: ${vulkan.error}`, fix: 'reinstall the Vulkan driver' }];
    const headers: Finding[] = vulkan.headers
      ? [{ check: 'vulkan headers', status: 'info', detail: vulkan.headers.suffice ? `${vulkan.headers.version ?? '?'}: this llama.cpp builds with them` : `${vulkan.headers.version ?? '?'} lack VK_EXT_layer_settings: a Vulkan build fetches Debian trixie's ${NEWER_HEADERS.version} headers` }]
      : [];
    const dri: Finding[] = vulkan.devices.some((d) => d.type !== 'cpu')
      ? [facts.container.dri ? { check: 'vulkan (/dev/dri)', status: 'info', detail: '/dev/dri: containers can have the GPU (--device /dev/dri)' } : { check: 'vulkan (/dev/dri)', status: 'info', detail: 'no /dev/dri: a container cannot reach the GPU', fix: 'on WSL 2, Vulkan in containers needs Docker Desktop\'s GPU support; on Linux, the GPU driver creates /dev/dri' }]
      : [];
    return [...headers, ...dri, ...(vulkan.devices.length
      ? vulkan.devices.map((device, i) => ({ check: `vulkan ${i}`, status: 'info' as const, detail: describe(device) }))
      : [{ check: 'vulkan', status: 'info' as const, detail: 'vulkaninfo lists no device', fix: INSTALL }])];
  },
  // A GPU through its render nodes. Lavapipe needs no device: the image has Mesa, and inside it
  // lavapipe is the only Vulkan device, so index 0.
  containerAccess: (facts, verdict) =>
    verdict.onCpu
      ? { usable: true, serverEnv: { GGML_VK_VISIBLE_DEVICES: '0' } }
      : facts.container.dri
        ? { usable: true, containerDevice: 'dri' }
        : { usable: false, missing: 'a container cannot reach the GPU: no /dev/dri', fix: 'on Linux the GPU driver creates /dev/dri; on WSL 2 use runtime: native' },
  async buildToolchain(plan, { logFile }) {
    // Debian's headers (1.3.239) and glslc build this llama.cpp's Vulkan backend; bootstrap.sh
    // installs them (apt-get, through sudo when not root) or says what to install.
    if (!which('glslc') || !existsSync('/usr/include/vulkan/vulkan.h') || !existsSync(SPIRV_HEADERS)) {
      await runLogged(['bash', join(plan.paths.repoRoot, 'scripts', 'bootstrap.sh'), 'vulkan'], {
        label: 'installing the Vulkan headers and glslc',
        logFile,
        hint: `install them: ${INSTALL_BUILD}`,
      });
    }
    if (!which('glslc')) throw new WorkbenchError('no glslc to compile llama.cpp\'s Vulkan shaders', INSTALL_BUILD);
    if (headersSuffice()) return NO_TOOLCHAIN;
    const prefix = await ensureNewerHeaders(plan.paths.cacheDir, logFile);
    return {
      configureArgs: [`-DVulkan_INCLUDE_DIR=${join(prefix, 'usr', 'include')}`, `-DSPIRV-Headers_DIR=${join(prefix, 'usr', 'share', 'cmake', 'SPIRV-Headers')}`],
      env: {},
    };
  },
  image: IMAGE_VULKAN,
};
