/** One interface per way of running the model server: a new runtime is one new file. */
import type { ServiceStatus } from '../process/service.ts';
import type { Preview, StepResult } from '../outcome.ts';
import type { ServingHandle } from '../state/serving.ts';
import type { Plan } from '../plan/index.ts';

/** A status row: one service, whoever runs it (process/service.ts, where Health is). */
export type { ServiceStatus } from '../process/service.ts';

export interface ServerRuntime {
  kind: Plan['runtime'];
  /** What start would do, and why, changing nothing. */
  preview(plan: Plan): Promise<Preview>;
  /** Starts the server, or leaves it alone when the same config already serves; replaces it when the config changed. */
  start(plan: Plan): Promise<StepResult>;
  /**
   * True when this runtime left a record of a server for the profile in its state dir: a cheap
   * test (no engine is asked) of whether stop could find something, for a profile that switched
   * runtime since.
   */
  hasRecord(plan: Plan): boolean;
  /** For messages: "native server (pid 123)", "podman container llm-workbench-x". */
  describe(plan: Plan): string;
  /** Stops what we started; false when nothing was running. */
  stop(plan: Plan): Promise<boolean>;
  status(plan: Plan): Promise<ServiceStatus>;
  /** The log file to show (native) or the text of the logs (container). */
  logs(plan: Plan, lines: number): Promise<string>;
  /** How to tell later, without the profile, that the server started for it still runs (state/serving.ts). */
  servingHandle(plan: Plan): Promise<ServingHandle | undefined>;
}
