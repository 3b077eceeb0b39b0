// Every Safehold CRD, in the order they are installed.
import { backupPolicySpec, backupPolicyStatus } from './backup-policy.ts';
import { backupRepositorySpec, backupRepositoryStatus } from './backup-repository.ts';
import { repositoryMaintenanceSpec, repositoryMaintenanceStatus } from './repository-maintenance.ts';
import { backupDownloadSpec, backupDownloadStatus } from './backup-download.ts';
import { volumeBackupSpec, volumeBackupStatus } from './volume-backup.ts';
import { volumeHistorySpec, volumeHistoryStatus } from './volume-history.ts';
import { volumeRestoreSpec, volumeRestoreStatus } from './volume-restore.ts';
import { restoreDrillSpec, restoreDrillStatus } from './restore-drill.ts';
import { customResourceDefinition } from './crd.ts';
import { applicationDumpSpec, applicationDumpStatus, dumpRunSpec, dumpRunStatus } from './application-dump.ts';

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
        { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
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
        { name: 'Snapshot', type: 'string', jsonPath: '.status.snapshotId', priority: 1 },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    }),
    customResourceDefinition({
      kind: 'VolumeHistory',
      plural: 'volumehistories',
      singular: 'volumehistory',
      scope: 'Namespaced',
      shortNames: ['vh'],
      spec: volumeHistorySpec,
      status: volumeHistoryStatus,
      statusSubresource: false,
      printerColumns: [
        { name: 'PVC', type: 'string', jsonPath: '.spec.pvc' },
        { name: 'Repository', type: 'string', jsonPath: '.status.repository' },
        { name: 'Newest', type: 'string', jsonPath: '.status.backups[0]' },
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
    customResourceDefinition({
      kind: 'VolumeRestore',
      plural: 'volumerestores',
      singular: 'volumerestore',
      scope: 'Namespaced',
      shortNames: ['vr'],
      spec: volumeRestoreSpec,
      status: volumeRestoreStatus,
      printerColumns: [
        { name: 'Source', type: 'string', jsonPath: '.spec.source.pvc' },
        { name: 'Target', type: 'string', jsonPath: '.spec.target.pvc' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Reason', type: 'string', jsonPath: '.status.reason' },
        { name: 'Backup', type: 'string', jsonPath: '.status.backup.snapshotTime' },
        { name: 'Progress', type: 'number', jsonPath: '.status.progress.percentDone', priority: 1 },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    }),
    customResourceDefinition({
      kind: 'BackupDownload',
      plural: 'backupdownloads',
      singular: 'backupdownload',
      scope: 'Namespaced',
      shortNames: ['bdl'],
      spec: backupDownloadSpec,
      status: backupDownloadStatus,
      printerColumns: [
        { name: 'Source', type: 'string', jsonPath: '.spec.source.pvc' },
        { name: 'Dump', type: 'string', jsonPath: '.spec.source.dump' },
        { name: 'Path', type: 'string', jsonPath: '.spec.path' },
        { name: 'What', type: 'string', jsonPath: '.spec.what' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Expires', type: 'date', jsonPath: '.status.expiresAt' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    }),
    customResourceDefinition({
      kind: 'ApplicationDump',
      plural: 'applicationdumps',
      singular: 'applicationdump',
      scope: 'Namespaced',
      shortNames: ['adump'],
      spec: applicationDumpSpec,
      status: applicationDumpStatus,
      printerColumns: [
        { name: 'File', type: 'string', jsonPath: '.spec.fileName' },
        { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule.cron' },
        { name: 'Last Success', type: 'date', jsonPath: '.status.lastSuccess.time' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    }),
    customResourceDefinition({
      kind: 'RestoreDrill',
      plural: 'restoredrills',
      singular: 'restoredrill',
      scope: 'Namespaced',
      shortNames: ['drill'],
      spec: restoreDrillSpec,
      status: restoreDrillStatus,
      printerColumns: [
        { name: 'PVC', type: 'string', jsonPath: '.spec.source.pvc' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Verdict', type: 'string', jsonPath: '.status.verdict' },
        { name: 'Reason', type: 'string', jsonPath: '.status.reason' },
        { name: 'Backup', type: 'string', jsonPath: '.status.backup.snapshotTime' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    }),
    customResourceDefinition({
      kind: 'DumpRun',
      plural: 'dumpruns',
      singular: 'dumprun',
      scope: 'Namespaced',
      shortNames: ['drun'],
      spec: dumpRunSpec,
      status: dumpRunStatus,
      printerColumns: [
        { name: 'Dump', type: 'string', jsonPath: '.spec.dump' },
        { name: 'Trigger', type: 'string', jsonPath: '.spec.trigger' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Reason', type: 'string', jsonPath: '.status.reason' },
        { name: 'Bytes', type: 'number', jsonPath: '.status.bytes' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    }),
  ];
}
