// The mover's task for a dump, by its source: a command's output or objects
// streamed in (dump-backup), a Git repository (git-backup), a bucket
// (bucket-backup) or etcd (etcd-snapshot), with the source's own secrets for
// the run's Secret.
import {
  etcdCertificatesMount,
  type BucketBackupTask,
  type DumpBackupTask,
  type DumpRun,
  type EtcdSnapshotTask,
  type MoverTask,
  type ParsedApplicationDumpSpec,
} from '../../api/index.ts';
import { bucketCredentials } from './bucket-credentials.ts';
import type { DumpDeps } from './dump-kind.ts';
import { gitCredentials } from './git-credentials.ts';

export type CommonTask = Pick<DumpBackupTask, 'repository' | 'host' | 'tags' | 'cacheDir' | 'compression'>;

/** The mover's task for the dump's source, and the source's own secrets for the run's Secret. */
export async function sourceTask(
  deps: DumpDeps,
  run: DumpRun,
  spec: ParsedApplicationDumpSpec | undefined,
  common: CommonTask,
  verifyBeforeUpload: boolean,
): Promise<{ task: MoverTask; data: Record<string, string> } | { missing: string }> {
  const fileName = run.status?.fileName ?? 'dump';
  if (spec?.git !== undefined) {
    const remote = await gitCredentials(deps, run, spec.git);
    if ('missing' in remote) return remote;
    const credentials = remote.kind === undefined ? {} : { credentials: { kind: remote.kind } };
    return { task: { kind: 'git-backup', ...common, fileName, url: spec.git.url, ...credentials }, data: remote.data };
  }
  if (spec?.etcd !== undefined) {
    const { endpoints, certificates } = spec.etcd;
    const task: EtcdSnapshotTask = {
      kind: 'etcd-snapshot',
      ...common,
      fileName,
      endpoints,
      certificates: { ...certificates, dir: etcdCertificatesMount },
    };
    return { task, data: {} };
  }
  if (spec?.bucket !== undefined) {
    const reader = await bucketCredentials(deps, run, spec.bucket);
    if ('missing' in reader) return reader;
    const { name, endpoint, region, prefix } = spec.bucket;
    const task: BucketBackupTask = {
      kind: 'bucket-backup',
      ...common,
      bucket: { name, endpoint, region },
      ...(prefix === undefined ? {} : { prefix }),
    };
    return { task, data: reader.data };
  }
  return { task: { kind: 'dump-backup', ...common, fileName, verifyBeforeUpload }, data: {} };
}
