import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { forPrograms } from './output-format.ts';

const cli = (args: string[]) =>
  spawnSync(process.execPath, [new URL('../bin/safehold.ts', import.meta.url).pathname, ...args], {
    encoding: 'utf8',
  });

describe('-o / --output', () => {
  it.each([['status'], ['backups'], ['retention', 'preview'], ['ls', 'ns/pvc']])(
    'is refused before anything is read when unknown (%s)',
    (...command) => {
      const result = cli([...command, '-o', 'xml']);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain("argument 'xml' is invalid");
      expect(result.stderr).toContain('table, json, yaml');
    },
  );

  it('prints records as JSON or YAML, and leaves the table to the command', () => {
    const records = [{ namespace: 'team', pvc: 'data' }];
    expect(JSON.parse(forPrograms('json', records) ?? '')).toEqual(records);
    expect(forPrograms('yaml', records)).toBe('- namespace: team\n  pvc: data\n');
    expect(forPrograms('table', records)).toBeUndefined();
  });
});
