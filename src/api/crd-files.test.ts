import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crdFiles } from './crd-files.ts';

describe('the chart CRDs', () => {
  it.each(Object.entries(crdFiles()))(
    '%s is generated from the current schemas (run: node scripts/generate-crds.ts)',
    (name, text) => {
      expect(readFileSync(join(import.meta.dirname, '../../charts/safehold/crds', name), 'utf8')).toBe(text);
    },
  );

  it('has structural schemas: no additionalProperties beside properties', () => {
    for (const text of Object.values(crdFiles())) expect(text).not.toMatch(/additionalProperties: false/);
  });
});
