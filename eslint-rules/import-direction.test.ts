// The import-direction rule catches what a reviewer would: core reaching into
// kube, the mover reaching the API client, src reaching the test environment,
// the mover reaching past its engine interface into an engine's folder.
import { ESLint } from 'eslint';
import { join } from 'node:path';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import importDirection from './import-direction.js';

const root = join(import.meta.dirname, '..');
// Only the rule under test, without type information (the files are virtual).
const eslint = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { safehold: { rules: { 'import-direction': importDirection } } },
    rules: { 'safehold/import-direction': 'error' },
  },
});

async function lint(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'safehold/import-direction').map((m) => m.message);
}

describe('import direction', () => {
  it.each([
    [
      'src/core/x.ts',
      "import { KubeClient } from '../kube/index.ts';\nexport type T = KubeClient;\n",
      "'core' may not import from 'kube'",
    ],
    [
      'src/mover/x.ts',
      "import { KubeClient } from '../kube/client.ts';\nexport type T = KubeClient;\n",
      "'mover' may not import from 'kube'",
    ],
    [
      'src/api/x.ts',
      "import { formatBytes } from '../core/quantity.ts';\nexport const f = formatBytes;\n",
      "'api' may not import from 'core'",
    ],
    [
      'src/kube/x.ts',
      "import { up } from '../../testenv/environment.ts';\nexport const f = up;\n",
      'never reaches outside src/',
    ],
    [
      'src/mover/backup.ts',
      "import { resticBackup } from './restic/backup.ts';\nexport const f = resticBackup;\n",
      'src/mover/backup.ts may not import the engine folder src/mover/restic: only src/mover/engines.ts loads an engine',
    ],
    [
      'src/mover/mover.ts',
      "export const load = () => import('./restic/index.ts');\n",
      'may not import the engine folder src/mover/restic',
    ],
    [
      'src/mover/restic/backup.ts',
      "import { kopiaSnapshot } from '../kopia/snapshot.ts';\nexport const f = kopiaSnapshot;\n",
      'src/mover/restic/backup.ts may not import the engine folder src/mover/kopia',
    ],
    [
      'src/bin/x.ts',
      "export { resticEngine } from '../mover/restic/index.ts';\n",
      'may not import the engine folder src/mover/restic',
    ],
  ])('%s is refused', async (file, code, message) => {
    expect((await lint(file, code)).join('\n')).toContain(message);
  });

  it.each([
    [
      'src/controller/x.ts',
      "import { KubeClient } from '../kube/index.ts';\nimport { formatBytes } from '../core/index.ts';\nexport type T = KubeClient;\nexport const f = formatBytes;\n",
    ],
    ['src/mover/x.ts', "import { formatBytes } from '../core/index.ts';\nexport const f = formatBytes;\n"],
    ['src/mover/engines.ts', "export const load = async () => (await import('./restic/index.ts')).resticEngine;\n"],
    [
      'src/mover/restic/engine.ts',
      "import type { Repository } from '../engine.ts';\nimport { runRestic } from './process.ts';\nimport { formatBytes } from '../../core/index.ts';\nexport type R = Repository;\nexport const f = [runRestic, formatBytes];\n",
    ],
  ])('%s may import downwards', async (file, code) => {
    expect(await lint(file, code)).toEqual([]);
  });
});
