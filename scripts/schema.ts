#!/usr/bin/env -S npx tsx
/** Writes env/schema.json from the zod schema, for editor completion in env/*.yml. */
import { join } from 'node:path';
import { writeIfChanged } from './lib/atomic-write.ts';
import { REPO_ROOT } from './lib/profile/index.ts';
import { profileJsonSchema } from './lib/profile/schema.ts';
import { isMain, runMain } from './lib/step.ts';

export function schemaText(): string {
  return `${JSON.stringify(profileJsonSchema(), null, 2)}\n`;
}

if (isMain(import.meta.url)) {
  await runMain(async () => {
    const outcome = writeIfChanged(join(REPO_ROOT, 'env', 'schema.json'), schemaText());
    console.log(`env/schema.json ${outcome}`);
  });
}
