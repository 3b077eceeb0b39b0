import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import { crdFiles, crdReferenceFile, crdReferencePath, tenantRolesFile } from './crd-files.ts';

const root = join(import.meta.dirname, '../..');

describe('the chart CRDs', () => {
  it.each(Object.entries(crdFiles()))(
    '%s is generated from the current schemas (run: node scripts/generate-crds.ts)',
    (name, text) => {
      expect(readFileSync(join(root, 'charts/safehold/crds', name), 'utf8')).toBe(text);
    },
  );

  it('ships the tenant ClusterRoles as generated (run: node scripts/generate-crds.ts)', () => {
    const file = join(root, 'charts/safehold/templates/tenant-roles.yaml');
    expect(readFileSync(file, 'utf8')).toBe(tenantRolesFile());
  });

  it('has structural schemas: no additionalProperties beside properties', () => {
    for (const text of Object.values(crdFiles())) expect(text).not.toMatch(/additionalProperties: false/);
  });
});

describe('the CRD field reference', () => {
  it(`${crdReferencePath} is generated from the current schemas (run: node scripts/generate-crds.ts)`, async () => {
    const file = join(root, crdReferencePath);
    const options = (await resolveConfig(file)) ?? {};
    const expected = await format(crdReferenceFile(), { ...options, filepath: file });
    expect(readFileSync(file, 'utf8')).toBe(expected);
  });
});
