// Writes the CRD YAML of every Safehold kind, generated from the zod schemas
// in src/api, to charts/safehold/crds/. A unit test fails when they are stale.
//   node scripts/generate-crds.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdFiles } from '../src/api/crd-files.ts';

const dir = join(import.meta.dirname, '..', 'charts', 'safehold', 'crds');
for (const [name, text] of Object.entries(crdFiles())) {
  writeFileSync(join(dir, name), text);
  console.log(`wrote charts/safehold/crds/${name}`);
}
