// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((name) => [name, `node:${name}`]);

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', '.temporal/**'] },
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
          ],
        },
      ],
    },
  },
  {
    // Activities adapt clients to the workflows' contract; they never reach into workflow code.
    files: ['src/activities/**/*.ts', 'src/jira/**/*.ts', 'src/sectigo/**/*.ts', 'src/csr/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/workflows/**'], message: 'Share types through src/contract.ts instead.' }] },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
