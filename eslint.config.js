// Lint rules, including the architecture's import boundaries (docs/architecture.md):
// - outside a folder only its index.ts (its front door) is imported;
// - a component (COMPONENTS) imports shared libraries and schemas/, never another component or an entry;
// - a library (SHARED) imports other libraries only;
// - an entry (ENTRIES: cli/, eval/, bench/) composes the front doors of libraries and components (a nested
//   folder's index.ts is one too: eval/testbed/, model/onnx/); no entry imports test code (the servers tests and
//   benchmarks start live in local-servers/);
// - tests: a unit test under test/unit/<folder>/ may import <folder>'s internals (what it tests), never an
//   integration test, and a fuzz target (test/fuzz/) the internal function it fuzzes; every other import from
//   test/ goes through front doors, a nested folder's included (cli/index.ts is the command's, for tests).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const COMPONENTS = ['broker', 'edge-node', 'cloud-worker', 'optimizer', 'sensor'];
const SHARED = ['common', 'model', 'codec', 'schemas', 'policy', 'transport', 'image', 'hardware', 'metrics', 'pareto', 'node-runtime', 'workload', 'client', 'local-servers'];
const ENTRIES = ['cli', 'eval', 'bench'];
const FOLDERS = [...COMPONENTS, ...SHARED, ...ENTRIES];

const others = (list, self) => list.filter((f) => f !== self);
/** Deep imports into `folders`: anything in them but their index.ts. */
const frontDoors = (folders) => ({
  group: folders.flatMap((f) => [`**/${f}/*`, `!**/${f}/index.ts`]),
  message: 'import another folder through its index.ts (its front door)',
});
/** For entries and tests: a folder's index.ts, or a nested folder's (eval/testbed/index.ts, model/onnx/index.ts). */
const nestedFrontDoors = (folders) => ({
  group: folders.flatMap((f) => [`**/${f}/*.ts`, `!**/${f}/index.ts`, `**/${f}/*/**`, `!**/${f}/*/index.ts`]),
  message: 'import another folder through its index.ts (its front door)',
});
const never = (folders, message) => ({ group: folders.map((f) => `**/${f}/**`), message });
const restrict = (files, patterns) => ({ files, rules: { 'no-restricted-imports': ['error', { patterns: patterns.filter((p) => p.group.length > 0) }] } });

const boundaries = [
  ...COMPONENTS.map((c) => restrict([`${c}/**/*.ts`], [
    never([...others(COMPONENTS, c), ...ENTRIES, 'test'], 'components do not import each other or entries; share through a library or schemas/'),
    frontDoors(SHARED),
  ])),
  ...SHARED.map((s) => restrict([`${s}/**/*.ts`], [
    never([...COMPONENTS, ...ENTRIES, 'test'], 'a library imports libraries only'),
    frontDoors(others(SHARED, s)),
  ])),
  ...ENTRIES.map((e) => restrict([`${e}/**/*.ts`], [
    never(['test'], 'only tests import test code'),
    nestedFrontDoors(others(FOLDERS, e)),
  ])),
  restrict(['test/**/*.ts'], [nestedFrontDoors(FOLDERS)]),
  // A fuzz target reaches the internal function it fuzzes, as a unit test does.
  restrict(['test/fuzz/**/*.ts'], []),
  // Later entries win for the same rule: these replace the one above for the unit tests of each folder.
  ...FOLDERS.map((f) => restrict([`test/unit/${f}/**/*.ts`], [
    never(['integration'], 'a unit test does not import an integration test; share through test/helpers/'),
    nestedFrontDoors(others(FOLDERS, f)),
  ])),
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.cache/**', 'schemas/gen/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', performance: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-console': 'error',
    },
  },
  {
    // Library code reports through injected loggers and Io; only entry points and benchmarks print.
    files: ['bench/**', 'test/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
  ...boundaries,
);
