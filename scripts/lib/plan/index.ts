/** The plan's vocabulary: every room imports its types from here. */
export type * from './accelerator.ts';
export type * from './finding.ts';
export type * from './lock.ts';
export type * from './model.ts';
export type * from './plan.ts';
