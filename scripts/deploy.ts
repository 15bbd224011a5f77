#!/usr/bin/env -S npx tsx
/** `make compose-up | compose-down | kube-up | kube-down`: the profile as deployment files, run locally. */
import { composeDown, composeUp } from './lib/deploy/compose.ts';
import { kubeDown, kubeUp } from './lib/deploy/kube.ts';
import { WorkbenchError } from './lib/errors.ts';
import { planFor } from './lib/profile/index.ts';
import { ensureStateDir } from './lib/state/paths.ts';
import { withProfileLock } from './lib/state/lock.ts';
import { runMain, runStep } from './lib/step.ts';

const ACTIONS = { 'compose-up': composeUp, 'compose-down': composeDown, 'kube-up': kubeUp, 'kube-down': kubeDown } as const;

await runMain(async () => {
  const action = process.argv[2] as keyof typeof ACTIONS;
  const run = ACTIONS[action];
  if (!run) throw new WorkbenchError(`unknown action "${action ?? ''}"`, `use one of: ${Object.keys(ACTIONS).join(', ')}`);
  const plan = planFor();
  ensureStateDir(plan);
  await withProfileLock(plan, `make ${action}`, () => runStep({ name: action, run }, plan));
});
