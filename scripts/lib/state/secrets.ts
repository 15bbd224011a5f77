/**
 * Secrets of a profile: the generated API key and the Jupyter token live in 0600 files in the
 * state folder and travel to services by environment, never on a command line (docs/decisions.md#secrets-and-exposure).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { WorkbenchError } from '../errors.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import type { Plan } from '../plan/index.ts';

/** Reads a secret file, creating it with a random value (0600) the first time. */
export function ensureSecret(file: string): { value: string; created: boolean } {
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return { value: readFileSync(file, 'utf8').trim(), created: false };
  }
  const value = randomBytes(24).toString('hex');
  writeFileAtomic(file, `${value}\n`, 0o600);
  return { value, created: true };
}

/** A secret file's value without creating it: for previews, which change nothing. */
export function peekSecret(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/** Stands for a secret a run would generate: a preview sees that it will change. */
export const NEW_SECRET = '(a new secret)';

/**
 * The API key clients must send, or undefined when the server takes none. `peek` reads a
 * generated key without creating it (previews change nothing).
 */
export function serverApiKey(plan: { server: Pick<Plan['server'], 'apiKey'> }, env: NodeJS.ProcessEnv = process.env, peek = false): string | undefined {
  const key = plan.server.apiKey;
  if (key.kind === 'none') return undefined;
  if (key.kind === 'generate') return peek ? peekSecret(key.file) ?? NEW_SECRET : ensureSecret(key.file).value;
  const value = env[key.variable];
  if (!value) {
    throw new WorkbenchError(`server.api_key is env:${key.variable}, but ${key.variable} is not set`, `export ${key.variable}=<your key> before running, or use server.api_key: generate`);
  }
  return value;
}
