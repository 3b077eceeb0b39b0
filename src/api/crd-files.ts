// The CRDs as the YAML files the chart ships, one per kind, and their field
// reference as the Markdown page the docs ship.
import { stringify } from 'yaml';
import { crdReference } from './crd-reference.ts';
import { safeholdCrds } from './crds.ts';
import { tenantClusterRoles } from './rbac.ts';

export function crdFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const crd of safeholdCrds()) {
    const name = (crd.metadata as { name: string }).name;
    files[`${name}.yaml`] =
      `# Generated from src/api by scripts/generate-crds.ts; do not edit.\n${stringify(crd, { lineWidth: 0 })}`;
  }
  return files;
}

/** The tenant ClusterRoles as the chart ships them (templates/tenant-roles.yaml). */
export function tenantRolesFile(): string {
  return `# Generated from src/api by scripts/generate-crds.ts; do not edit.\n${tenantClusterRoles()
    .map((role) => stringify(role, { lineWidth: 0 }))
    .join('---\n')}`;
}

/** Where the field reference lives, from the repository's root. */
export const crdReferencePath = 'docs/reference/crds.md';

/** The field reference of every CRD, before prettier lays out its tables (the script and the test both format it). */
export function crdReferenceFile(): string {
  return crdReference(safeholdCrds());
}
