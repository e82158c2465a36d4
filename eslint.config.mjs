// ESLint flat config: typescript-eslint's type-checked recommendations, Prettier owns the layout
// (eslint-config-prettier last turns off every rule it would fight with). `npm run lint`.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // test/unit/fixtures: source trees the layer test reads as data (they break the rules on purpose).
  { ignores: ['node_modules/**', 'test-artifacts/**', 'scratch/**', 'coverage/**', 'test/unit/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The Google clients, Pulumi outputs, JSON bodies and YAML are typed `any` at the edges; the
      // code narrows them with zod or checks of its own. Flagging every use would bury real findings.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Handlers implement async interfaces (Handler, RawHandler) even when one needs no await.
      '@typescript-eslint/require-await': 'off',
      // String(value) of JSON values, query parameters and BigQuery cells is what the code means.
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Plain JavaScript: no type information to check against.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  { files: ['jest.config.js'], languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } } },
  // CommonJS on purpose (tools/launcher.cjs starts without tsx): require() is how it imports.
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } }, rules: { '@typescript-eslint/no-require-imports': 'off' } },
  { files: ['services/dashboard/public/**/*.js'], languageOptions: { sourceType: 'script', globals: globals.browser } },
  prettier,
);
