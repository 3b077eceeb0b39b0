// Where a verdict on a backup is kept: on the VolumeBackup it is about (while
// that is a run object; an archived backup lives in its volume's history
// alone) and on the PVC, whose annotations coverage, metrics, the dashboard
// and the alerts read. A restore drill writes one; so does a repository check
// that finds a damaged pack holding a backup's data.
import { annotations, type VerificationRecord } from '../../api/index.ts';
import { ignoreNotFound, kinds, type KubeClient } from '../../kube/index.ts';

export interface VerdictTarget {
  namespace: string;
  pvc: string;
  /** The VolumeBackup the verdict is about. */
  backup: string;
}

export async function recordVerdict(
  client: KubeClient,
  target: VerdictTarget,
  record: VerificationRecord,
  onClaim = true,
): Promise<void> {
  await ignoreNotFound(() =>
    client.mergePatch(
      kinds.volumeBackup,
      { namespace: target.namespace, name: target.backup },
      { status: { verification: record } },
      'status',
    ),
  );
  if (!onClaim) return;
  const result = record.verdict === 'Passed' ? 'Passed' : `Failed: ${record.message ?? ''}`.slice(0, 1000);
  await ignoreNotFound(() =>
    client.mergePatch(
      kinds.persistentVolumeClaim,
      { namespace: target.namespace, name: target.pvc },
      {
        metadata: {
          annotations: {
            [annotations.lastVerified]: record.time,
            [annotations.verifyResult]: result,
            [annotations.verifiedBackup]: target.backup,
            ...(record.verdict === 'Passed' ? { [annotations.lastPassed]: record.time } : {}),
          },
        },
      },
    ),
  );
}
