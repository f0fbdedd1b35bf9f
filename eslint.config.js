import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', 'infra/cdk.out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The dashboard's pages: plain ES modules run by the browser, uPlot loaded before them.
    files: ['src/web/ui/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'document',
          'window',
          'location',
          'localStorage',
          'matchMedia',
          'EventSource',
          'URL',
          'URLSearchParams',
          'Blob',
          'fetch',
          'getComputedStyle',
          'ResizeObserver',
          'Node',
          'CustomEvent',
          'EventTarget',
          'setTimeout',
          'queueMicrotask',
          'uPlot',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
);
