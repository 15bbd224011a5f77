/**
 * llama.cpp's chat page, built here from the pinned source's tools/ui (SvelteKit, built with npm
 * and Vite) and embedded in llama-server by its own CMake script (scripts/ui-assets.cmake takes a
 * built tools/ui/dist first). Why here: upstream stopped committing the built page (PR #22937)
 * and downloads it at build time from a Hugging Face bucket; without that network a source build
 * silently yields a server whose root is a blank page (ggml-org/llama.cpp#24665). npm's registry
 * is all this build reaches: `npm ci` installs exactly the source's package-lock.json, with
 * install scripts off (its .npmrc says so too). Built once per llama.cpp version into the cache
 * (about 3 minutes on 2 cores: npm ci 40 s, the build 2.5 min; 10 MB kept, 700 MB of packages
 * while it builds).
 */
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { WorkbenchError } from '../errors.ts';
import { sha256Hex } from '../fingerprint.ts';
import { runLogged, which } from '../process/run.ts';
import { statePaths } from '../state/paths.ts';
import { buildOnce, readBuildInfo, type BuildArtifact } from './artifact.ts';
import { unpackSdist } from './sdist.ts';
import type { CommandInput, Plan } from '../plan/index.ts';

/** What the page is built by: a new recipe, a new cache key (and a new llama-server key). */
export const WEB_UI_RECIPE = 'web-ui-1';

/** The packages it installs while it builds, and npm's own cache of them. */
const BUILD_BYTES = 1200 * 1024 * 1024;

const HINT_OFFLINE = "the npm registry must be reachable; or set server.web_ui: false to build llama-server without the chat page";

function pageDir(plan: CommandInput): string {
  return join(plan.paths.cacheDir, 'llama-ui', `llama.cpp-${plan.llamaCpp.version}-${sha256Hex(WEB_UI_RECIPE).slice(0, 12)}`);
}

const isComplete = (dir: string) => existsSync(join(dir, 'index.html'));

/** The built page: index.html and its assets, as tools/ui/dist holds them after `npm run build`. */
export const WEB_UI: BuildArtifact = {
  what: "llama.cpp's chat page",
  dir: pageDir,
  cached: (plan) => isComplete(pageDir(plan)),
  info: (plan) => readBuildInfo(pageDir(plan)),
  ensure: async (plan) => {
    if (isComplete(pageDir(plan))) return { built: false };
    const npm = which('npm');
    if (!npm) throw new WorkbenchError("npm is not on PATH: llama.cpp's chat page (server.web_ui) is built with it", "install Node.js's npm (Debian/Ubuntu: sudo apt-get install npm), or set server.web_ui: false");
    return buildOnce(
      plan,
      pageDir(plan),
      isComplete,
      async ({ python, sdist, work, out }) => {
        const logFile = statePaths(plan).buildLog;
        console.log(`  building llama.cpp's chat page from tools/ui (npm ci, then Vite); a few minutes the first time`);
        const { llamaCppDir } = await unpackSdist(plan, { python, sdist, dest: join(work, 'src'), logFile, hint: `read ${logFile}`, below: 'vendor/llama.cpp/tools/ui/' });
        const ui = join(llamaCppDir, 'tools', 'ui');
        // The user's own npm cache; no audit or funding requests, no update check.
        const env = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
        await runLogged([npm, 'ci', '--ignore-scripts', '--no-audit', '--no-fund'], { label: "installing the chat page's packages (npm ci)", logFile, env, cwd: ui, hint: HINT_OFFLINE });
        await runLogged([npm, 'run', 'build'], { label: 'building the chat page (vite build)', logFile, env, cwd: ui, hint: `read ${logFile}` });
        if (!existsSync(join(ui, 'dist', 'index.html'))) throw new WorkbenchError('the chat page build made no dist/index.html', `read ${logFile}`);
        cpSync(join(ui, 'dist'), out, { recursive: true });
      },
      BUILD_BYTES,
    );
  },
};

/**
 * The page where llama.cpp's CMake embeds it from (tools/ui/dist of the source tree), copied
 * aside and renamed in: a tree never holds half a page.
 */
export function placeWebUi(plan: CommandInput, llamaCppDir: string): void {
  const dist = join(llamaCppDir, 'tools', 'ui', 'dist');
  if (isComplete(dist)) return;
  mkdirSync(join(llamaCppDir, 'tools', 'ui'), { recursive: true });
  const partial = `${dist}.partial-${process.pid}`;
  // Not the cache entry's build-info.json: every file there is embedded and served.
  cpSync(pageDir(plan), partial, { recursive: true, filter: (source) => basename(source) !== 'build-info.json' });
  renameSync(partial, dist);
}

/** The page's folder in an image's build context (build/<profile>/), beside the Dockerfile. */
export const WEB_UI_CONTEXT_DIR = 'web-ui';

/** The page built (once) and copied into an image's build context, replacing what an earlier build put there. */
export async function stageWebUiForImage(plan: Plan, contextDir: string): Promise<void> {
  await WEB_UI.ensure(plan);
  const target = join(contextDir, WEB_UI_CONTEXT_DIR);
  rmSync(target, { recursive: true, force: true });
  cpSync(pageDir(plan), target, { recursive: true, filter: (source) => basename(source) !== 'build-info.json' });
}
