// Writes the CRD YAML of every Safehold kind, generated from the zod schemas
// in src/api, to charts/safehold/crds/, the tenant ClusterRoles to
// charts/safehold/templates/, and the CRD field reference to
// docs/reference/crds.md (laid out by prettier, as the repository's check
// wants it). A unit test fails when any of them is stale.
//   node scripts/generate-crds.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { crdFiles, crdReferenceFile, crdReferencePath, tenantRolesFile } from '../src/api/crd-files.ts';

const root = join(import.meta.dirname, '..');
const dir = join(root, 'charts', 'safehold', 'crds');
for (const [name, text] of Object.entries(crdFiles())) {
  writeFileSync(join(dir, name), text);
  console.log(`wrote charts/safehold/crds/${name}`);
}
const templates = join(root, 'charts', 'safehold', 'templates');
mkdirSync(templates, { recursive: true });
writeFileSync(join(templates, 'tenant-roles.yaml'), tenantRolesFile());
console.log('wrote charts/safehold/templates/tenant-roles.yaml');

const reference = join(root, crdReferencePath);
mkdirSync(dirname(reference), { recursive: true });
const options = (await resolveConfig(reference)) ?? {};
writeFileSync(reference, await format(crdReferenceFile(), { ...options, filepath: reference }));
console.log(`wrote ${crdReferencePath}`);
