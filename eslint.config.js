// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((name) => [name, `node:${name}`]);

/** The top-level modules of src that are layers of their own; every other name is a folder of src. */
const MODULES = new Set(['connector', 'config', 'worker', 'messages']);

/** Patterns for the folders (or top-level modules) of src a layer must not import from. */
function above(layerName, names, { typesOnly = false } = {}) {
  return names.map((name) => ({
    group: [MODULES.has(name) ? `**/${name}.ts` : `**/${name}/**`],
    ...(typesOnly ? { allowTypeImports: true } : {}),
    message: `${layerName} must not import ${name}: it is a layer above (see eslint.config.js).`,
  }));
}

/** A layer's import rule: nothing from `forbidden`; only types from `typesFrom`. */
function layer(files, layerName, forbidden, { typesFrom = [] } = {}) {
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...above(layerName, forbidden),
            ...above(layerName, typesFrom, { typesOnly: true }).map((p) => ({
              ...p,
              message: `${layerName} imports ${p.group[0].replace(/^\*\*\/|\/\*\*$|\.ts$/g, '')} as types only.`,
            })),
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', '.temporal/**', '.cache/**', '.tools/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A forgotten await on an activity or a workflow API is a real bug, not a style issue.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test'] }] },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
    },
  },
  {
    // A function longer than a screen and a half is a function with several jobs (the emulators' route
    // tables excepted: a table of one-line routes reads best whole).
    files: ['src/**/*.ts'],
    ignores: ['src/sandbox/**'],
    rules: { 'max-lines-per-function': ['error', { max: 120 }] },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node built-ins, and activities
    // only as types (values would pull their dependencies into the workflow bundle).
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not use Node built-ins.' })),
          patterns: [
            {
              group: ['**/activities/**', '**/activities'],
              allowTypeImports: true,
              message: 'Import activities only as types in workflow code.',
            },
            {
              group: ['**/jira/**', '**/sectigo/**', '**/csr/**'],
              allowTypeImports: true,
              message: 'Workflow code does no I/O: use these through activities.',
            },
            { group: ['undici', 'jira.js', '@peculiar/*', 'yaml'], message: 'Workflow code does no I/O.' },
            ...above('workflows', ['client', 'events', 'sandbox', 'connector', 'config', 'worker']),
          ],
        },
      ],
    },
  },
  // Each layer imports only what is below it: contract and messages; the adapters (jira, sectigo, csr);
  // the activities and the event dispatcher; the clients (receiver, CLI); the composition root.
  layer(['src/contract/**/*.ts', 'src/messages.ts'], 'contract', [
    'activities',
    'client',
    'events',
    'jira',
    'sectigo',
    'csr',
    'workflows',
    'sandbox',
    'connector',
    'config',
    'worker',
  ]),
  layer(['src/jira/**/*.ts', 'src/sectigo/**/*.ts', 'src/csr/**/*.ts'], 'adapters', [
    'activities',
    'client',
    'events',
    'workflows',
    'sandbox',
    'connector',
    'worker',
  ]),
  layer(['src/activities/**/*.ts'], 'activities', ['client', 'workflows', 'sandbox', 'connector', 'worker']),
  layer(['src/events/**/*.ts'], 'events', ['client', 'activities', 'sandbox', 'connector', 'worker'], {
    typesFrom: ['workflows'],
  }),
  layer(['src/client/**/*.ts'], 'client', ['activities', 'sandbox', 'worker'], { typesFrom: ['workflows'] }),
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
