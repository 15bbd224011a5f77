/**
 * `make` runs every command from one bundle of our TypeScript and its packages (esbuild, which tsx
 * already brings): a command starts in about 0.3 s where `node --import tsx` took 1.9 s, most of it
 * each module's round trip through tsx's loader thread. The Makefile rebuilds the bundle when a
 * file it was made of changes (the `.d` file written beside it lists them, as a compiler's -MD
 * does); tests and `node --import tsx scripts/<x>.ts` still run the sources themselves.
 *
 * Usage: node --import tsx scripts/bundle.ts <out.mjs>
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { writeFileAtomic } from './lib/atomic-write.ts';
import { WorkbenchError } from './lib/errors.ts';
import { REPO_ROOT } from './lib/profile/index.ts';
import { isMain, runMain } from './lib/step.ts';

/** What make can run: every script at the top of scripts/ and the bench. */
export function bundleEntries(repoRoot: string): string[] {
  const scripts = readdirSync(join(repoRoot, 'scripts'))
    .filter((name) => name.endsWith('.ts') && name !== 'bundle.ts')
    .map((name) => `scripts/${name}`);
  return [...scripts.sort(), 'checks/bench.ts'];
}

/**
 * The bundle's own entry: `node cli.mjs scripts/status.ts args...` runs that script as if node had
 * been given it. Each script is imported lazily (esbuild keeps a dynamically imported module's top
 * level in an init function), so a command evaluates only its own modules; argv[1] is set to the
 * script's path first because `isMain` (scripts/lib/step.ts) compares it with a module's own file.
 */
export function dispatcherSource(repoRoot: string, entries: readonly string[]): string {
  const table = entries.map((entry) => `  ${JSON.stringify(entry)}: () => import(${JSON.stringify(join(repoRoot, entry))}),`).join('\n');
  return `const ENTRIES = {\n${table}\n};
const [script, ...args] = process.argv.slice(2);
const load = ENTRIES[script];
if (!load) {
  console.error(\`error: \${script} is not a command of this bundle (one of: \${Object.keys(ENTRIES).join(', ')})\`);
  process.exit(2);
}
process.argv = [process.argv[0], ${JSON.stringify(repoRoot)} + '/' + script, ...args];
await load();
`;
}

/**
 * A bundle has one import.meta for all its modules: each of our files gets its own source's URL
 * and folder back, so REPO_ROOT, `isMain` and files found beside a module (checks/python-sdk/)
 * resolve as they do when run from source.
 */
function ownImportMeta(repoRoot: string): Plugin {
  const ours = new RegExp(`^${repoRoot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(scripts|checks)/.*\\.ts$`);
  return {
    name: 'own-import-meta',
    setup(bundle) {
      bundle.onLoad({ filter: ours }, (args) => ({
        contents: readFileSync(args.path, 'utf8')
          .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path))),
        loader: 'ts',
      }));
    },
  };
}

/** Builds `out` (and its source map and make dependency file), each written whole. */
export async function bundle(repoRoot: string, out: string): Promise<string[]> {
  const result = await build({
    stdin: { contents: dispatcherSource(repoRoot, bundleEntries(repoRoot)), resolveDir: repoRoot, sourcefile: '<commands>', loader: 'js' },
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: out,
    write: false,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    plugins: [ownImportMeta(repoRoot)],
    // Loaded from node_modules where it is used: playwright-core finds its own files beside its
    // modules (and is 8 MB that only the chat page's browser check needs).
    external: ['playwright-core'],
    // Packages written as CommonJS use require, __filename and __dirname (write-file-atomic hashes
    // __filename into its temp names), which an ES module does not have.
    banner: {
      js: [
        'import { createRequire as __bundleRequire } from "node:module";',
        'import { fileURLToPath as __bundlePath } from "node:url";',
        'const require = __bundleRequire(import.meta.url);',
        'const __filename = __bundlePath(import.meta.url);',
        'const __dirname = __bundlePath(new URL(".", import.meta.url));',
      ].join(' '),
    },
  });
  for (const file of result.outputFiles) writeFileAtomic(file.path, Buffer.from(file.contents));
  // Our files only (node_modules changes with package-lock.json, a prerequisite of its own), not the dispatcher made here.
  const sources = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('node_modules/') && existsSync(join(repoRoot, input)));
  sources.push(relative(repoRoot, fileURLToPath(import.meta.url)));
  // A target line, then an empty rule per source so that a deleted file rebuilds instead of stopping make.
  const target = relative(repoRoot, out);
  writeFileAtomic(`${out.replace(/\.mjs$/, '')}.d`, `${target}: ${sources.join(' ')}\n${sources.map((s) => `${s}:`).join('\n')}\n`);
  return sources;
}

if (isMain(import.meta.url)) {
  await runMain(async () => {
    const out = process.argv[2];
    if (!out) throw new WorkbenchError('scripts/bundle.ts needs the file to write', 'make builds it: node --import tsx scripts/bundle.ts .cache/dist/cli.mjs');
    await bundle(REPO_ROOT, join(process.cwd(), out));
  });
}
