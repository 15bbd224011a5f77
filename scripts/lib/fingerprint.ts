/**
 * Fingerprints: a short, stable hash of the facts that decide what runs. A service, env or image
 * is replaced exactly when its fingerprint changes, so every fact that changes what runs must be
 * in it, and nothing that does not (a timestamp would restart the server on every run).
 */
import { createHash } from 'node:crypto';

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** 16 hex digits of the sha256 of the facts as JSON. */
export function fingerprint(facts: unknown): string {
  return sha256Hex(JSON.stringify(facts)).slice(0, 16);
}

/**
 * The facts behind a fingerprint, by readable name ("--n_ctx", "llama_cpp.version"), kept beside
 * it so a plan can say what changed, not only that something did. Secrets appear as digests.
 */
export type Facts = Record<string, string>;

export function factsFingerprint(facts: Facts): string {
  return fingerprint(Object.entries(facts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A command line as facts: its leading words by the names given, then `--flag value` pairs. */
export function argvFacts(argv: readonly string[], leading: readonly string[]): Facts {
  const facts: Facts = {};
  leading.forEach((name, i) => (facts[name] = argv[i] ?? ''));
  const rest = argv.slice(leading.length);
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i] as string;
    const next = rest[i + 1];
    if (word.startsWith('--') && next !== undefined && !next.startsWith('--')) {
      facts[word] = next;
      i++;
    } else {
      facts[word] = '';
    }
  }
  return facts;
}

function shown(value: string | undefined): string {
  if (value === undefined) return '(none)';
  return value.length > 40 ? `${value.slice(0, 12)}...${value.slice(-8)}` : value || '(set)';
}

/** What differs, for a person: `--n_ctx 2048 -> 1024, llama_cpp.version 0.3.36 -> 0.3.35`. */
export function describeChanges(before: Facts | undefined, after: Facts): string {
  if (!before) return 'configuration of an earlier version';
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const changed = keys.filter((key) => before[key] !== after[key]);
  if (changed.length === 0) return 'nothing in its configuration';
  return changed.map((key) => `${key} ${shown(before[key])} -> ${shown(after[key])}`).join(', ');
}

/** An environment as facts (`env NAME`), leaving out secrets and what differs between shells. */
export function envFacts(env: Record<string, string>, leaveOut: readonly string[]): Facts {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !leaveOut.includes(k)).map(([k, v]) => [`env ${k}`, v]));
}

/** A secret as a fact: `sha256:<12 hex>`, or `none`. */
export function secretFact(secret: string | undefined): string {
  return secret === undefined ? 'none' : `sha256:${sha256Hex(secret).slice(0, 12)}`;
}

/** A config object as facts, one per leaf (`models[1].n_ctx: 2048`), so a change names its field. */
export function configFacts(value: unknown, prefix = ''): Facts {
  if (value === null || typeof value !== 'object') return { [prefix]: String(value) };
  const entries = Array.isArray(value) ? value.map((item, i) => [`[${i}]`, item] as const) : Object.entries(value).map(([k, v]) => [prefix ? `.${k}` : k, v] as const);
  return Object.assign({}, ...entries.map(([key, item]) => configFacts(item, `${prefix}${key}`))) as Facts;
}
