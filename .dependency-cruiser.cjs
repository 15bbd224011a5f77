/**
 * The house rules, checked in `make test` (test/unit/architecture/rules.test.ts) and written out in
 * docs/architecture.md: no import circle (type-only imports count: a type circle is a knot in the
 * design even when Node never sees it), every import points down the layers below, and no room
 * reaches into another room's subfolders (a backend's, an accelerator's, a transport's own files
 * are reached through the room's index.ts or types.ts).
 *
 * `npx depcruise scripts checks` prints what breaks them; `npx depcruise scripts checks
 * --output-type archi` draws the rooms.
 */

/** Top to bottom: a module may import its own layer and the ones below it, never one above. */
const LAYERS = [
  { name: 'entry points', path: '^(scripts/[^/]+\\.ts|checks/)' },
  { name: 'step compositions', path: '^scripts/lib/(step\\.ts|doctor/|deploy/)' },
  { name: 'runtimes', path: '^scripts/lib/(runtime|jupyter)/' },
  { name: 'the resolver', path: '^scripts/lib/profile/' },
  { name: 'concerns', path: '^scripts/lib/(accelerator|backend|engine|llama-cpp|machine|model|python-env|render|rpc)/' },
  { name: 'process', path: '^scripts/lib/process/' },
  { name: 'state', path: '^scripts/lib/state/' },
  { name: 'base', path: '^scripts/lib/(?!step\\.ts)[^/]+\\.ts$' },
  { name: 'vocabulary', path: '^scripts/lib/plan/' },
];

const layerRules = LAYERS.slice(1).map((layer, i) => ({
  name: `layer-order: ${layer.name}`,
  comment: `${layer.name} sits below ${LAYERS.slice(0, i + 1).map((l) => l.name).join(', ')}: it may not import them (take the slice of the plan you need as an argument instead)`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: LAYERS.slice(0, i + 1).map((l) => l.path) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import circle, type-only imports included: move the shared type down (scripts/lib/plan/) or pass the value in',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'no-room-internals',
      comment: "another room's subfolder is its own business: import its index.ts or types.ts",
      severity: 'error',
      from: { path: '^scripts/lib/([^/]+)/' },
      to: { path: '^scripts/lib/([^/]+)/.+/[^/]+\\.ts$', pathNot: ['^scripts/lib/$1/', '/(index|types)\\.ts$'] },
    },
    {
      name: 'no-room-internals-from-entry-points',
      comment: "an entry point reaches a room through its index.ts or types.ts, not a file of one of its subfolders",
      severity: 'error',
      from: { path: '^(scripts/[^/]+\\.ts|checks/)' },
      to: { path: '^scripts/lib/[^/]+/.+/[^/]+\\.ts$', pathNot: '/(index|types)\\.ts$' },
    },
    {
      name: 'vocabulary-imports-nothing-of-ours',
      comment: "the plan's types import nothing of ours: every room may import them",
      severity: 'error',
      from: { path: '^scripts/lib/plan/' },
      to: { path: '^(scripts|checks)/', pathNot: '^scripts/lib/plan/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
