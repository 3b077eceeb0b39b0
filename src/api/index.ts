// src/api: Safehold's vocabulary. The API group; the zod schemas of its custom
// resources, annotations, condition reasons and the controller-mover protocol
// (types come from z.infer); the CRDs generated from them. No I/O.
export * from './annotations.ts';
export * from './application-dump.ts';
export * from './backup-choice.ts';
export * from './block-protocol.ts';
export * from './bucket-restore.ts';
export * from './ceph-csi.ts';
export * from './backup-download.ts';
export * from './backup-policy.ts';
export * from './backup-repository.ts';
export * from './conditions.ts';
export * from './crd.ts';
export * from './crds.ts';
export * from './cron.ts';
export * from './duration.ts';
export * from './etcd-source.ts';
export * from './group.ts';
export * from './hooks.ts';
export * from './label-selector.ts';
export * from './dump-frames.ts';
export * from './mover-protocol.ts';
export * from './bucket-protocol.ts';
export * from './git-protocol.ts';
export * from './mover-pod.ts';
export * from './object-meta.ts';
export * from './rbac.ts';
export * from './repository-maintenance.ts';
export * from './restic-target.ts';
export * from './restore-drill.ts';
export * from './timestamp.ts';
export * from './volume-backup.ts';
export * from './volume-history.ts';
export * from './volume-restore.ts';
export * from './objects-file.ts';
