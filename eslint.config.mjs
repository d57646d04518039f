// One lint config for the whole repository: typescript-eslint's recommended rules,
// formatting left to Prettier, and the boundaries design.md asks for.
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', 'cdktf.out/', 'coverage/'] },
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Deployed code never reaches into infra, tests or the local harness, and never
    // loads the cdktf provider barrel (3-4 s per import).
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/infra/**', '**/test/**', '**/local/**', 'cdktf', 'cdktf/*', '@cdktf/*'] },
      ],
    },
  },
  {
    files: ['infra/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['@cdktf/provider-google'] }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
