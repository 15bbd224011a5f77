/**
 * Loads `env/<name>.yml`, follows `extends`, merges the layers and validates the result.
 * Every error names the file, line and column of the value at fault (layers are kept, as in
 * c12, so the error points at the file that set the value) and says how to fix it.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { displayPath, WorkbenchError } from '../errors.ts';
import { closestMatch } from './suggest.ts';
import { profileSchema, type Profile } from './schema.ts';

export interface ProfileLayer {
  name: string;
  file: string;
  doc: Document;
  lineCounter: LineCounter;
  data: Record<string, unknown>;
}

export interface LoadedProfile {
  name: string;
  /** Base first, the named profile last. */
  layers: ProfileLayer[];
  profile: Profile;
}

export function listProfiles(envDir: string): string[] {
  if (!existsSync(envDir)) return [];
  return readdirSync(envDir)
    .filter((file) => file.endsWith('.yml') && !file.endsWith('.lock.yml'))
    .map((file) => file.slice(0, -'.yml'.length))
    .sort();
}

export function loadProfile(name: string, envDir: string): LoadedProfile {
  const layers = readLayers(name, envDir);
  const merged = layers.reduce<Record<string, unknown>>((acc, layer) => mergeLayer(acc, layer.data), {});
  delete merged.extends;
  delete merged.$schema;
  const result = profileSchema.safeParse(merged);
  if (!result.success) throw describeIssue(result.error.issues[0] as z.core.$ZodIssue, layers);
  return { name, layers, profile: result.data };
}

function readLayers(name: string, envDir: string): ProfileLayer[] {
  const chain: ProfileLayer[] = [];
  const seen: string[] = [];
  let next: string | undefined = name;
  while (next !== undefined) {
    if (seen.includes(next)) {
      const cycle = [...seen.slice(seen.indexOf(next)), next].map((n) => `${n}.yml`).join(' -> ');
      throw new WorkbenchError(
        `${displayPath(join(envDir, `${seen[seen.length - 1]}.yml`))}: extends cycle: ${cycle}`,
        'make one of these profiles stop extending the other; a chain must end at a profile without "extends"',
      );
    }
    seen.push(next);
    const layer = readLayer(next, envDir, seen.length > 1 ? chain[chain.length - 1] : undefined);
    chain.push(layer);
    next = typeof layer.data.extends === 'string' ? layer.data.extends : undefined;
  }
  return chain.reverse();
}

function readLayer(name: string, envDir: string, child: ProfileLayer | undefined): ProfileLayer {
  const file = join(envDir, `${name}.yml`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || !existsSync(file)) {
    const known = listProfiles(envDir);
    const guess = closestMatch(name, known);
    const where = child ? `${locate(child, ['extends'])}: extends ` : '';
    throw new WorkbenchError(
      `${where}unknown profile "${name}" (no ${displayPath(file)})`,
      `${guess ? `did you mean "${guess}"? ` : ''}profiles in ${displayPath(envDir)}: ${known.join(', ') || '(none)'}`,
    );
  }
  const text = readFileSync(file, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    const pos = syntaxError.linePos?.[0];
    const at = pos ? `${displayPath(file)}:${pos.line}:${pos.col}` : displayPath(file);
    throw new WorkbenchError(
      `${at}: malformed YAML: ${(syntaxError.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
      'fix the YAML syntax at that line (indentation, a missing ":" or an unclosed quote)',
    );
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new WorkbenchError(`${displayPath(file)}: a profile must be a YAML mapping (key: value)`, 'see env/default.yml for the shape');
  }
  const layer: ProfileLayer = { name, file, doc, lineCounter, data: data as Record<string, unknown> };
  if (layer.data.extends !== undefined && typeof layer.data.extends !== 'string') {
    throw new WorkbenchError(`${locate(layer, ['extends'])}: extends must be a profile name`, 'write e.g. "extends: default"');
  }
  return layer;
}

/**
 * Merges a layer over what it extends. A layer that names a model (`model.source`) brings its
 * whole model block: a checksum, file name or chat format inherited from another model's
 * block would be wrong for this one.
 */
export function mergeLayer(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged = deepMerge(base, over);
  const model = over.model;
  if (isPlainObject(model) && model.source !== undefined) merged.model = model;
  return merged;
}

/** Objects merge key by key; anything else (lists included) is replaced by the later layer. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const previous = out[key];
    out[key] = isPlainObject(previous) && isPlainObject(value) ? deepMerge(previous, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describeIssue(issue: z.core.$ZodIssue, layers: ProfileLayer[]): WorkbenchError {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] as string;
    const keyPath = [...path, key];
    const layer = layerDefining(layers, keyPath);
    const known = knownKeys(path);
    const guess = closestMatch(key, known);
    return new WorkbenchError(
      `${locate(layer, keyPath)}: unknown key "${keyPath.join('.')}"`,
      `${guess ? `did you mean "${guess}"? ` : ''}${path.length ? `"${path.join('.')}" takes` : 'a profile takes'}: ${known.join(', ')}`,
    );
  }
  const field = path.join('.') || '(profile)';
  if (!layers.some((l) => valueAt(l.data, path) !== undefined) && issue.code === 'invalid_type') {
    const leaf = layers[layers.length - 1] as ProfileLayer;
    const about = describeField(path);
    return new WorkbenchError(
      `${displayPath(leaf.file)}: ${field} is missing`,
      `add "${path[path.length - 1]}:" under "${path.slice(0, -1).join('.') || 'the top level'}"${about ? ` (${about})` : ''}`,
    );
  }
  const layer = layerDefining(layers, path);
  return new WorkbenchError(`${locate(layer, path)}: ${field}: ${issue.message}`, `edit ${field} in ${displayPath(layer.file)}; env/schema.json describes every field`);
}

/** The last layer that sets the value at `path` (or the closest parent of it). */
function layerDefining(layers: ProfileLayer[], path: string[]): ProfileLayer {
  for (let depth = path.length; depth >= 0; depth--) {
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i] as ProfileLayer;
      if (valueAt(layer.data, path.slice(0, depth)) !== undefined) return layer;
    }
  }
  return layers[layers.length - 1] as ProfileLayer;
}

function valueAt(data: unknown, path: string[]): unknown {
  let node = data;
  for (const key of path) {
    if (!isPlainObject(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** `file:line:col` of the value (or key) at `path`, falling back to its closest parent. */
function locate(layer: ProfileLayer, path: string[]): string {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth).map((k) => (/^\d+$/.test(k) ? Number(k) : k));
    const node = depth === 0 ? layer.doc.contents : layer.doc.getIn(prefix, true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) {
      // For a mapping key we want the key itself, which sits before the value.
      const keyNode = depth > 0 ? findKeyNode(layer, prefix) : undefined;
      const offset = keyNode?.range?.[0] ?? range[0];
      const { line, col } = layer.lineCounter.linePos(offset);
      return `${displayPath(layer.file)}:${line}:${col}`;
    }
  }
  return displayPath(layer.file);
}

function findKeyNode(layer: ProfileLayer, path: (string | number)[]): { range?: [number, number, number] } | undefined {
  const parent = path.length > 1 ? layer.doc.getIn(path.slice(0, -1), true) : layer.doc.contents;
  const items = (parent as { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] } | null)?.items;
  return items?.find((pair) => pair.key?.value === path[path.length - 1])?.key;
}

function knownKeys(path: string[]): string[] {
  const schema = schemaAt(path);
  const def = (schema ? unwrap(schema)._zod.def : undefined) as { type: string; shape?: Record<string, unknown> } | undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function describeField(path: string[]): string | undefined {
  const schema = schemaAt(path) as { description?: string } | undefined;
  return schema?.description;
}

function schemaAt(path: string[]): z.core.$ZodType | undefined {
  let schema: z.core.$ZodType = profileSchema;
  for (const key of path) {
    const def = unwrap(schema)._zod.def as { type: string; shape?: Record<string, z.core.$ZodType> };
    const next = def.type === 'object' ? def.shape?.[key] : undefined;
    if (!next) return undefined;
    schema = next;
  }
  return schema;
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return current;
  }
}
