/**
 * Offload verified, not assumed: what the server itself reported when it loaded the model (the
 * device llama.cpp chose, "offloaded N/M layers to GPU"), read from its log, and the link that
 * broke when a GPU build ended on the CPU. The same llama.cpp lines come from llama-server
 * (at --log-verbosity 4, where this llama.cpp puts libllama's loading report) and llama_cpp.server.
 */
import { WorkbenchError } from '../errors.ts';
import { logHead } from '../process/log-tail.ts';
import type { AcceleratorChoice, Plan } from '../plan/index.ts';

/** The loading report is at the head of the server's log (each start begins a new one). */
export function readOffloadFromLog(file: string): OffloadReport {
  return readOffload(logHead(file));
}

export interface OffloadReport {
  /** "Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits))", "CUDA0 (NVIDIA H200)" */
  device?: string;
  layers?: { offloaded: number; of: number };
  /** What llama.cpp said instead of a device: no device found, CUDA failed to start, ... */
  problem?: string;
}

/** The last load in the log (a restarted server appends to it). */
export function readOffload(log: string): OffloadReport {
  const starts = [...log.matchAll(/llama_server: initializing|llama_model_loader: loaded meta data|load_model: loading model/g)];
  const last = starts.length ? log.slice(starts[starts.length - 1]!.index) : log;
  const text = /offloaded \d+\/\d+ layers/.test(last) ? last : log;
  const report: OffloadReport = {};
  const device = [...text.matchAll(/using device (\S+) \((.*?)\) \(.*?\) - \d+ MiB free/g)].pop();
  if (device) report.device = `${device[1]} (${device[2]})`;
  const layers = [...text.matchAll(/offloaded (\d+)\/(\d+) layers to GPU/g)].pop();
  if (layers) report.layers = { offloaded: Number(layers[1]), of: Number(layers[2]) };
  const problem = [
    /ggml_cuda_init: failed to initialize CUDA: (.+)/,
    /(ggml_vulkan: No devices found\.)/,
    /(no usable GPU found)/,
    /(CUDA error: .+)/,
  ]
    .map((pattern) => pattern.exec(text)?.[1])
    .find(Boolean);
  if (problem) report.problem = problem.trim();
  return report;
}

export interface OffloadVerdict {
  ok: boolean;
  /** One line for step 40, make status and the smoke report. */
  line: string;
  fix?: string;
}

export function offloadVerdict(choice: AcceleratorChoice, report: OffloadReport): OffloadVerdict {
  if (choice.gpuLayers === undefined) return { ok: true, line: 'on the CPU (a CPU build)' };
  const offloaded = report.layers?.offloaded ?? 0;
  if (report.device && offloaded > 0) {
    const some = report.layers && report.layers.offloaded < report.layers.of ? ` (not all: the device's memory holds ${offloaded}; accelerator.gpu_layers or a smaller quantization)` : '';
    return { ok: true, line: `on ${report.device}: ${offloaded}/${report.layers?.of ?? '?'} layers offloaded${some}` };
  }
  const link = report.problem
    ? `llama.cpp said: ${report.problem}`
    : report.layers
      ? `offloaded 0/${report.layers.of} layers${choice.gpuLayers === 0 ? ' (accelerator.gpu_layers: 0)' : ': the model does not fit the device memory'}`
      : 'the server reported no device';
  const fix = /CUDA driver version is insufficient/.test(link)
    ? 'update the NVIDIA driver (make doctor names the version this build needs)'
    : /no CUDA-capable device|No devices found|no usable GPU/.test(link)
      ? 'the device is not visible to the server: make doctor lists what the machine has (a container needs --device / --gpus)'
      : 'make doctor lists each fact the GPU depends on; make logs shows the server\'s own report';
  return { ok: false, line: `${choice.name} build, but the server runs on the CPU: ${link}`, fix };
}

/**
 * After a start, native or in a container: the server's own report against what was asked. A
 * required GPU that ended on the CPU stops the server and fails with the link that broke; an
 * optional one warns once. Returns what the step says of it ('' for a CPU build).
 */
export async function verifyOffload(plan: Plan, report: OffloadReport, stopServer: () => Promise<unknown>): Promise<string> {
  const offload = offloadVerdict(plan.accelerator, report);
  if (!offload.ok) {
    if (plan.accelerator.required) {
      await stopServer();
      throw new WorkbenchError(`profile "${plan.profile.name}" asked for ${plan.accelerator.name}, and ${offload.line}`, `${offload.fix}; or accelerator.required: false to serve on the CPU`);
    }
    console.log(`  warning: ${offload.line} (fix: ${offload.fix})`);
  }
  return plan.accelerator.gpuLayers !== undefined ? ` ${offload.line}` : '';
}
