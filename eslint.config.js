// ESLint (flat config): typescript-eslint's recommended rules for the engine,
// the shells, tests, benchmarks and scripts. Formatting is Prettier's job.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config({ ignores: ['dist/**', 'node_modules/**', '.tools/**', '**/*.d.ts'] }, js.configs.recommended, ...tseslint.configs.recommended, {
  languageOptions: {
    globals: {
      process: 'readonly',
      console: 'readonly',
      Buffer: 'readonly',
      setTimeout: 'readonly',
      clearTimeout: 'readonly',
      setInterval: 'readonly',
      clearInterval: 'readonly',
      URL: 'readonly',
      AbortController: 'readonly',
      AbortSignal: 'readonly',
      TextEncoder: 'readonly',
      TextDecoder: 'readonly',
      ReadableStream: 'readonly',
      fetch: 'readonly',
      structuredClone: 'readonly',
      setImmediate: 'readonly',
      queueMicrotask: 'readonly',
      performance: 'readonly',
    },
  },
  rules: {
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    '@typescript-eslint/no-explicit-any': 'error',
    'no-control-regex': 'off',
    // Async generator sinks that only drain a stream are fine.
    'require-yield': 'off',
    'no-regex-spaces': 'off',
  },
});
