// Type-aware lint for everything in TypeScript, plus the import direction of src/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importDirection from './eslint-rules/import-direction.js';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'eslint-rules/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { safehold: { rules: { 'import-direction': importDirection } } },
    rules: {
      'safehold/import-direction': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name=/^(env|argv)$/]",
          message: 'only src/bin reads process.env and process.argv; pass values in.',
        },
      ],
    },
  },
  {
    files: ['src/bin/**', 'testenv/**', 'test/**', 'bench/**', 'demo/**', 'scripts/**', '*.ts', '*.js'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
