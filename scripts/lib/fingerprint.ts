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

/** A secret's place in a fingerprint: a change is noticed, the value never written. */
export function secretDigest(secret: string | undefined): string | null {
  return secret === undefined ? null : sha256Hex(secret);
}
