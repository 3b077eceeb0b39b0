// The ClusterRoles that give tenants Safehold in their own namespaces, by
// aggregation into Kubernetes' built-in roles: whoever is `admin` or `edit`
// of a namespace may back up its volumes now, restore them, read files from
// their backups, put a bucket back from its dumps, and read every run's status
// there; `view` may read the runs. Nothing here reaches repositories, their
// credentials or other namespaces: movers and keys live in Safehold's
// namespace, which tenants are not given.
import { apiGroup } from './group.ts';

const tenantResources = [
  'volumebackups',
  'volumerestores',
  'backupdownloads',
  'dumpruns',
  'restoredrills',
  'bucketrestores',
];
/** Declarations a tenant writes and changes: which application dumps its namespace has. */
const declarationResources = ['applicationdumps'];
/** A download's status carries a URL to the data itself: readers of a namespace see runs, not data. */
const viewResources = [
  'volumebackups',
  'volumehistories',
  'volumerestores',
  'applicationdumps',
  'dumpruns',
  'restoredrills',
  'bucketrestores',
];
/** A volume's history is written by the operator alone: tenants read it. */
const readOnlyResources = ['volumehistories'];

export function tenantClusterRoles(): Record<string, unknown>[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: 'safehold-tenant-edit',
        labels: {
          'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
        },
      },
      rules: [
        {
          apiGroups: [apiGroup],
          resources: tenantResources,
          verbs: ['get', 'list', 'watch', 'create', 'delete'],
        },
        {
          apiGroups: [apiGroup],
          resources: declarationResources,
          verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
        },
        { apiGroups: [apiGroup], resources: readOnlyResources, verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: 'safehold-tenant-view',
        labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' },
      },
      rules: [{ apiGroups: [apiGroup], resources: viewResources, verbs: ['get', 'list', 'watch'] }],
    },
  ];
}
