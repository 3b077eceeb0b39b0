// Every Safehold CRD, in the order they are installed.
import { backupPolicySpec, backupPolicyStatus } from './backup-policy.ts';
import { backupRepositorySpec, backupRepositoryStatus } from './backup-repository.ts';
import { repositoryMaintenanceSpec, repositoryMaintenanceStatus } from './repository-maintenance.ts';
import { volumeBackupSpec, volumeBackupStatus } from './volume-backup.ts';
import { customResourceDefinition } from './crd.ts';

export function safeholdCrds(): Record<string, unknown>[] {
  return [
    customResourceDefinition({
      kind: 'BackupPolicy',
      plural: 'backuppolicies',
      singular: 'backuppolicy',
      scope: 'Cluster',
      shortNames: ['bp'],
      spec: backupPolicySpec,
      status: backupPolicyStatus,
      printerColumns: [
        { name: 'Default', type: 'boolean', jsonPath: '.spec.default' },
        { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
        { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule.cron' },
        { name: 'Protected', type: 'integer', jsonPath: '.status.volumes.protected' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    }),
    customResourceDefinition({
      kind: 'BackupRepository',
      plural: 'backuprepositories',
      singular: 'backuprepository',
      scope: 'Cluster',
      shortNames: ['brepo'],
      spec: backupRepositorySpec,
      status: backupRepositoryStatus,
      printerColumns: [
        { name: 'Endpoint', type: 'string', jsonPath: '.spec.s3.endpoint' },
        { name: 'Bucket', type: 'string', jsonPath: '.spec.s3.bucket' },
        { name: 'Last Backup', type: 'date', jsonPath: '.status.lastBackupTime' },
      ],
    }),
    customResourceDefinition({
      kind: 'VolumeBackup',
      plural: 'volumebackups',
      singular: 'volumebackup',
      scope: 'Namespaced',
      shortNames: ['vb'],
      spec: volumeBackupSpec,
      status: volumeBackupStatus,
      printerColumns: [
        { name: 'PVC', type: 'string', jsonPath: '.spec.pvc' },
        { name: 'Trigger', type: 'string', jsonPath: '.spec.trigger' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Reason', type: 'string', jsonPath: '.status.reason' },
        { name: 'Snapshot', type: 'string', jsonPath: '.status.resticSnapshotId', priority: 1 },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    }),
    customResourceDefinition({
      kind: 'RepositoryMaintenance',
      plural: 'repositorymaintenances',
      singular: 'repositorymaintenance',
      scope: 'Namespaced',
      shortNames: ['rmaint'],
      spec: repositoryMaintenanceSpec,
      status: repositoryMaintenanceStatus,
      printerColumns: [
        { name: 'Repository', type: 'string', jsonPath: '.spec.repository' },
        { name: 'Tenant', type: 'string', jsonPath: '.spec.tenant' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Reason', type: 'string', jsonPath: '.status.reason' },
        { name: 'Forgotten', type: 'integer', jsonPath: '.status.forgotten' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    }),
  ];
}
