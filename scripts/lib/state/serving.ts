/**
 * What runs, known from the state folders rather than from profile files: step 40 records, per
 * profile, which model files its server serves and how to tell that it still runs. A second
 * checkout of the project, or a profile whose file was renamed or deleted, still has its record
 * here (the state root is per user), so `make models-rm` cannot pull a model from under a server
 * that no profile in this checkout names.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { isProcessAlive } from './process-identity.ts';
import type { CoreSharer } from '../plan/index.ts';

/** How to tell the server still runs: its process (pid and start time) or its container. */
export type ServingHandle =
  | { kind: 'process'; pid: number; startTime: string }
  | { kind: 'container'; engine: 'docker' | 'podman'; binary: string; name: string };

export interface ServingRecord {
  profile: string;
  /** Where the profile's file was when it started (it may be gone since). */
  profileFiles: string[];
  url: string;
  handle: ServingHandle;
  models: { id: string; path: string; sha256?: string }[];
  startedAt: string;
}

const FILE = 'serving.json';

export function servingRecordFile(stateDir: string): string {
  return join(stateDir, FILE);
}

export function writeServingRecord(stateDir: string, record: ServingRecord): void {
  writeFileAtomic(servingRecordFile(stateDir), `${JSON.stringify(record, null, 2)}\n`);
}

/** The profile's own record, if it has one that reads. */
export function readServingRecord(stateDir: string): ServingRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(servingRecordFile(stateDir), 'utf8')) as ServingRecord;
    return Array.isArray(record.models) && record.handle ? record : undefined;
  } catch {
    return undefined;
  }
}

export function removeServingRecord(stateDir: string): void {
  rmSync(servingRecordFile(stateDir), { force: true });
}

/** Every profile's record under the per-user state root (the parent of a profile's state folder). */
export function servingRecords(stateRoot: string): ServingRecord[] {
  if (!existsSync(stateRoot)) return [];
  return readdirSync(stateRoot, { withFileTypes: true }).flatMap((entry) => {
    const record = entry.isDirectory() ? readServingRecord(join(stateRoot, entry.name)) : undefined;
    return record ? [record] : [];
  });
}

/** The per-user state root a profile's state folder lives in. */
export function stateRootOf(stateDir: string): string {
  return dirname(stateDir);
}

/** How a refusal names a running server: "profile hf (pid 123)", "profile x (podman container llm-workbench-x)". */
export function describeServing(record: ServingRecord): string {
  const how = record.handle.kind === 'process' ? `pid ${record.handle.pid}` : `${record.handle.engine} container ${record.handle.name}`;
  return `profile ${record.profile} (${how}, ${record.url})`;
}

/**
 * Another profile of ours whose server holds `port` (two profiles on the default 8080): named as
 * ours instead of "another program". A container's record is taken at its word: the port is held.
 */
export function otherProfileOnPort(stateRoot: string, port: number, profile: string): ServingRecord | undefined {
  return servingRecords(stateRoot).find((record) => {
    if (record.profile === profile) return false;
    let recordPort: number;
    try {
      recordPort = Number(new URL(record.url).port);
    } catch {
      return false;
    }
    return recordPort === port && recordServes(record);
  });
}

/** A process is checked; a container's record is taken at its word (make down removes it, and its restart policy brings it back). */
function recordServes(record: ServingRecord): boolean {
  return record.handle.kind !== 'process' || isProcessAlive(record.handle.pid, record.handle.startTime);
}

/**
 * The servers of other profiles that `profile`'s server shares this machine's cores with. While
 * its own server runs, only those that were serving before it count: a server started later took
 * its share already, and one coming or going must not make an unchanged profile's next provision
 * restart a healthy server.
 */
export function coreSharers(stateRoot: string, profile: string): CoreSharer[] {
  const records = servingRecords(stateRoot).filter(recordServes);
  const own = records.find((record) => record.profile === profile);
  return records
    .filter((record) => record.profile !== profile && (!own || record.startedAt < own.startedAt))
    .map(({ profile: other, url, startedAt }) => ({ profile: other, url, startedAt }))
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** The message and fix for a port another profile of ours holds. */
export function heldByOtherProfile(record: ServingRecord, field: string, profileFile: string): { message: string; fix: string } {
  return {
    message: `is held by the model server of llm-workbench ${describeServing(record)}`,
    fix: `make down PROFILE=${record.profile} (from the checkout that started it, if it is another), or give ${field} another port in ${profileFile}`,
  };
}
