// Writes the CRD YAML of every Safehold kind, generated from the zod schemas
// in src/api, to charts/safehold/crds/, and the tenant ClusterRoles to
// charts/safehold/templates/. A unit test fails when they are stale.
//   node scripts/generate-crds.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { crdFiles, tenantRolesFile } from '../src/api/crd-files.ts';

const dir = join(import.meta.dirname, '..', 'charts', 'safehold', 'crds');
for (const [name, text] of Object.entries(crdFiles())) {
  writeFileSync(join(dir, name), text);
  console.log(`wrote charts/safehold/crds/${name}`);
}
const templates = join(import.meta.dirname, '..', 'charts', 'safehold', 'templates');
mkdirSync(templates, { recursive: true });
writeFileSync(join(templates, 'tenant-roles.yaml'), tenantRolesFile());
console.log('wrote charts/safehold/templates/tenant-roles.yaml');
