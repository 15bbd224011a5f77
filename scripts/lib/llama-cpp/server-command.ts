/**
 * What the model server runs, worked out once for every reader: the native runtime starts it,
 * the Dockerfile, compose and kube files carry the container's, and `make plan JSON=1` prints
 * the one the profile's runtime uses. Before this, each worked it out on its own and they had
 * drifted (the plan's argv lacked the launcher and its flags).
 */
import { join } from 'node:path';
import type { Plan } from '../profile/plan.ts';
import { statePaths } from '../state/paths.ts';
import { llamaServerArgs, routerArgs, routerPreset } from './llama-server-args.ts';
import { llamaServerDir } from './llama-server-build.ts';
import { serverArgs, serverConfig } from './server-args.ts';

export interface ServerCommand {
  argv: string[];
  /** Files it reads at start (several models: a config or a preset file), written just before. */
  files: { path: string; text: string }[];
}

/** The interpreter a native llama_cpp.server runs under when no env says otherwise: the venv's. */
export function defaultPython(plan: Plan): string {
  return join(plan.python.venvDir, 'bin', 'python');
}

/**
 * The native server: our launcher under `python` (the env's interpreter: a conda env's differs
 * from the venv's), or the llama-server binary built for the plan.
 */
export function hostServerCommand(plan: Plan, python = defaultPython(plan)): ServerCommand {
  const paths = statePaths(plan);
  const several = plan.models.length > 1;
  if (plan.server.backend === 'llama-server') {
    const binary = join(llamaServerDir(plan), 'llama-server');
    return several
      ? { argv: [binary, ...routerArgs(plan, paths.routerPreset)], files: [{ path: paths.routerPreset, text: routerPreset(plan) }] }
      : { argv: [binary, ...llamaServerArgs(plan, { modelPath: plan.model.path })], files: [] };
  }
  // Several models come from a config file (llama_cpp.server reads no model list on argv).
  return several
    ? {
        argv: [python, plan.paths.launcher, ...(plan.server.weightRepack ? [] : ['--no_extra_buffers']), '--config_file', paths.serverConfig],
        files: [{ path: paths.serverConfig, text: `${JSON.stringify(serverConfig(plan), null, 2)}\n` }],
      }
    : { argv: [python, plan.paths.launcher, ...serverArgs(plan, { modelPath: plan.model.path, bindHost: true })], files: [] };
}

/** The whole argv of the server in the image (a compose or kube `command` replaces the CMD with it). One model only. */
export function containerServerCommand(plan: Plan): string[] {
  if (plan.models.length > 1) return []; // No container files for several models (render's TEMPLATES).
  const modelPath = `${plan.container.modelDir}/${plan.model.fileName}`;
  return plan.server.backend === 'llama-server'
    ? ['/usr/local/bin/llama-server', ...llamaServerArgs(plan, { modelPath, inContainer: true })]
    : ['python', '/opt/llm-workbench/serve.py', ...serverArgs(plan, { modelPath, bindHost: false })];
}

/** The command of the profile's runtime. */
export function serverCommand(plan: Plan, python?: string): ServerCommand {
  return plan.runtime === 'container' ? { argv: containerServerCommand(plan), files: [] } : hostServerCommand(plan, python);
}
