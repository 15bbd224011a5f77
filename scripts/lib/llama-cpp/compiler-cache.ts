/**
 * ccache for llama.cpp's compiles, when the machine has it (bootstrap.sh installs it with the
 * compilers). llama.cpp's CMake puts ccache in front of the compiler by itself (GGML_CCACHE, on by
 * default); what is ours is where the cache lives and what makes two builds share it:
 *
 * - the cache sits in llm-workbench's own cache folder (`make clean BUILDS=1` empties it), not the
 *   user's ~/.cache/ccache;
 * - paths under the build tree are hashed relative to it (CCACHE_BASEDIR), so the same source
 *   unpacked somewhere else, another cache folder, a container, hits the same entries;
 * - the compiler is known by its content, not its mtime, so the same Debian gcc in a container
 *   counts as the same compiler, and the locale is the same for every compile.
 *
 * Why it matters: a second variant of the same commit (another accelerator, the bench's tools in a
 * fresh tree, a clean machine provisioned from a shared cache) recompiles only what differs.
 */
import { join } from 'node:path';
import type { CommandInput } from '../plan/index.ts';

export function compilerCacheDir(plan: CommandInput): string {
  return join(plan.paths.cacheDir, 'ccache');
}

/** The environment a compile under `tree` runs with (added to the process's own). */
export function compilerCacheEnv(plan: CommandInput, tree: string): Record<string, string> {
  return compilerCacheSettings(compilerCacheDir(plan), tree);
}

/**
 * The same cache in an image's build stage: podman mounts ours there for the build (`podman build
 * --volume`), and the Dockerfile lays the source out as the host's build tree does
 * (`<tree>/src/llama_cpp_python-<version>/vendor/llama.cpp`, `<tree>/build`), so an image
 * compile finds what the host compiled, and the other way round. Docker's BuildKit has no build
 * volumes: there the folder is absent and the compile runs without the cache.
 */
export const IMAGE_COMPILER_CACHE = { dir: '/var/cache/llm-workbench/ccache', tree: '/tmp/tree' } as const;

export function imageCompilerCacheEnv(): Record<string, string> {
  return compilerCacheSettings(IMAGE_COMPILER_CACHE.dir, IMAGE_COMPILER_CACHE.tree);
}

function compilerCacheSettings(dir: string, tree: string): Record<string, string> {
  return {
    CCACHE_DIR: dir,
    CCACHE_BASEDIR: tree,
    CCACHE_NOHASHDIR: 'true',
    CCACHE_COMPILERCHECK: 'content',
    CCACHE_MAXSIZE: '2G',
    // What llama.cpp's CMake asks for, but sets only at configure time, which the compiles never see.
    CCACHE_SLOPPINESS: 'time_macros',
    // ccache hashes the locale variables (they change the compiler's messages): a container with
    // no LANG and a desktop with LANG=ja_JP.UTF-8 would otherwise never share an object.
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    LC_CTYPE: 'C.UTF-8',
    LC_MESSAGES: 'C.UTF-8',
  };
}
