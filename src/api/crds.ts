// Every Safehold CRD, in the order they are installed.
import { backupPolicySpec, backupPolicyStatus } from './backup-policy.ts';
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
  ];
}
