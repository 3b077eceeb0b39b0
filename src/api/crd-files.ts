// The CRDs as the YAML files the chart ships, one per kind.
import { stringify } from 'yaml';
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
