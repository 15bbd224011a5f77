/**
 * The house rules (.dependency-cruiser.cjs) hold on the code, and they are live: the same rules
 * run on a copy of the code with one bad import added fail it, naming the rule and the import.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { REPO_ROOT } from '../../helpers.ts';

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
  cycle?: { name: string }[];
}

interface Cruise {
  modules: { source: string }[];
  summary: { violations: Violation[] };
}

const CONFIG = '.dependency-cruiser.cjs';

async function cruise(root: string): Promise<Cruise> {
  const depcruise = join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const run = await execa('node', [depcruise, '--config', CONFIG, '--output-type', 'json', 'scripts', 'checks'], { cwd: root, reject: false });
  assert.ok(run.stdout.startsWith('{'), `depcruise printed no report (exit ${run.exitCode}): ${run.stderr}`);
  return JSON.parse(run.stdout) as Cruise;
}

const copies: string[] = [];
after(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the code (scripts/, checks/, the config, tsconfig) with `edit` applied to one file. */
function copyWith(file: string, edit: (text: string) => string): string {
  const root = mkdtempSync(join(tmpdir(), 'wb-architecture-'));
  copies.push(root);
  for (const entry of ['scripts', 'checks', CONFIG, 'tsconfig.json']) cpSync(join(REPO_ROOT, entry), join(root, entry), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, file), edit(readFileSync(join(root, file), 'utf8')));
  return root;
}

const prepend = (line: string) => (text: string) => `${line}\n${text}`;

function rulesBroken(violations: Violation[]): string[] {
  return violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

describe('the house rules', () => {
  it('hold on the code: no circle (type-only imports counted), no upward import, no room reached into', async () => {
    const { summary } = await cruise(REPO_ROOT);
    assert.deepEqual(rulesBroken(summary.violations), []);
  });

  it('put every module of scripts/ and checks/ in exactly one layer', async () => {
    const require = createRequire(import.meta.url);
    const config = require(join(REPO_ROOT, CONFIG)) as { forbidden: { name: string; from: { path?: string }; to: { path?: string | string[] } }[] };
    const layerRules = config.forbidden.filter((rule) => rule.name.startsWith('layer-order: '));
    // The top layer only appears as the one every other layer may not import.
    const top = ([] as string[]).concat(layerRules[0]!.to.path ?? [])[0]!;
    const layers = [top, ...layerRules.map((rule) => rule.from.path!)].map((path) => new RegExp(path));
    const { modules } = await cruise(REPO_ROOT);
    const ours = modules.map((m) => m.source).filter((source) => /^(scripts|checks)\/.*\.ts$/.test(source));
    assert.ok(ours.length > 100, `only ${ours.length} modules cruised`);
    for (const source of ours) {
      const matches = layers.filter((layer) => layer.test(source)).length;
      assert.equal(matches, 1, `${source} is in ${matches} layers`);
    }
  });

  it('fail an upward import: state reading the resolver', async () => {
    const root = copyWith('scripts/lib/state/paths.ts', prepend("import { profilesDir } from '../profile/plan.ts';\nvoid profilesDir;"));
    const broken = rulesBroken((await cruise(root)).summary.violations);
    assert.ok(broken.includes('layer-order: state: scripts/lib/state/paths.ts -> scripts/lib/profile/plan.ts'), broken.join('\n'));
  });

  it('fail a circle made of type-only imports, and the vocabulary importing anything of ours', async () => {
    const root = copyWith('scripts/lib/plan/model.ts', prepend("import type { PythonEnv } from '../state/python-env.ts';\nexport type Recorded = PythonEnv;"));
    const broken = rulesBroken((await cruise(root)).summary.violations);
    assert.ok(broken.some((line) => line.startsWith('no-circular: ')), broken.join('\n'));
    assert.ok(broken.includes('vocabulary-imports-nothing-of-ours: scripts/lib/plan/model.ts -> scripts/lib/state/python-env.ts'), broken.join('\n'));
  });

  it("fail a room reaching into another room's subfolder", async () => {
    const root = copyWith('scripts/lib/runtime/native.ts', prepend("import { routerPreset } from '../backend/llama-server/args.ts';\nvoid routerPreset;"));
    const broken = rulesBroken((await cruise(root)).summary.violations);
    assert.ok(broken.includes('no-room-internals: scripts/lib/runtime/native.ts -> scripts/lib/backend/llama-server/args.ts'), broken.join('\n'));
  });
});

/**
 * A choice made in one place: outside its own folder, no code compares a backend's, an
 * accelerator's, a runtime's, an engine's or a transport's name (at most two, each saying why).
 */
const NAMES: Record<string, { names: string[]; home: RegExp }> = {
  backend: { names: ['llama-cpp-python', 'llama-server'], home: /^scripts\/lib\/backend\// },
  accelerator: { names: ['cpu', 'cuda', 'vulkan'], home: /^scripts\/lib\/accelerator\// },
  runtime: { names: ['native', 'container'], home: /^scripts\/lib\/(runtime\/|profile\/runtimes\.ts$)/ },
  engine: { names: ['docker', 'podman'], home: /^scripts\/lib\/engine\// },
  transport: { names: ['pypi', 'https', 'file', 'hf'], home: /^scripts\/lib\/model\/transport\// },
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

export function nameBranches(files: { path: string; text: string }[]): string[] {
  const found: string[] = [];
  for (const { path, text } of files) {
    for (const [what, { names, home }] of Object.entries(NAMES)) {
      if (home.test(path)) continue;
      const alternatives = names.map((name) => name.replace(/[-.]/g, '\\$&')).join('|');
      const branch = new RegExp(`[=!]==\\s*'(${alternatives})'|'(${alternatives})'\\s*[=!]==|case '(${alternatives})':`);
      text.split('\n').forEach((line, i) => {
        if (branch.test(line)) found.push(`${path}:${i + 1} (${what}): ${line.trim()}`);
      });
    }
  }
  return found;
}

describe('choices made in one place', () => {
  it('finds a branch on a runtime name outside runtime/ (the scan is live)', () => {
    const found = nameBranches([{ path: 'scripts/logs.ts', text: "const where = plan.runtime === 'native' ? a : b;" }]);
    assert.deepEqual(found, ["scripts/logs.ts:1 (runtime): const where = plan.runtime === 'native' ? a : b;"]);
    assert.deepEqual(nameBranches([{ path: 'scripts/lib/runtime/index.ts', text: "if (kind === 'native') {}" }]), []);
  });

  it('leaves at most two branches on a backend, accelerator, runtime, engine or transport name outside its folder', () => {
    const files = ['scripts', 'checks'].flatMap((dir) => sources(join(REPO_ROOT, dir))).map((path) => ({ path: relative(REPO_ROOT, path), text: readFileSync(path, 'utf8') }));
    const found = nameBranches(files);
    assert.ok(found.length <= 2, found.join('\n'));
  });
});
