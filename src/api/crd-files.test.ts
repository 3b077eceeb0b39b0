import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crdFiles, tenantRolesFile } from './crd-files.ts';

describe('the chart CRDs', () => {
  it.each(Object.entries(crdFiles()))(
    '%s is generated from the current schemas (run: node scripts/generate-crds.ts)',
    (name, text) => {
      expect(readFileSync(join(import.meta.dirname, '../../charts/safehold/crds', name), 'utf8')).toBe(text);
    },
  );

  it('ships the tenant ClusterRoles as generated (run: node scripts/generate-crds.ts)', () => {
    const file = join(import.meta.dirname, '../../charts/safehold/templates/tenant-roles.yaml');
    expect(readFileSync(file, 'utf8')).toBe(tenantRolesFile());
  });

  it('has structural schemas: no additionalProperties beside properties', () => {
    for (const text of Object.values(crdFiles())) expect(text).not.toMatch(/additionalProperties: false/);
  });
});
