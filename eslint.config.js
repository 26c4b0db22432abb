// Lint rules, including the architecture's import boundaries: a component (broker, edge-node,
// cloud-worker, optimizer, sensor) may import shared libraries and schemas/, never another component;
// and outside a folder only its index.ts (its front door) is imported.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const COMPONENTS = ['broker', 'edge-node', 'cloud-worker', 'optimizer', 'sensor'];
const SHARED = ['common', 'model', 'codec', 'schemas', 'policy', 'transport', 'image', 'hardware', 'metrics', 'pareto', 'node-runtime'];

const componentBoundaries = COMPONENTS.map((component) => ({
  files: [`${component}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { group: COMPONENTS.filter((c) => c !== component).map((c) => `**/${c}/**`), message: 'components do not import each other; share through a library or schemas/' },
        { group: SHARED.map((s) => `**/${s}/*`).concat(SHARED.map((s) => `!**/${s}/index.ts`)), message: "import a shared library through its index.ts" },
      ],
    }],
  },
}));

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
  ...componentBoundaries,
);
