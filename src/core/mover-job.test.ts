import { describe, expect, it } from 'vitest';
import type { VolumeBackup } from '../api/index.ts';
import { moverJob } from './mover-job.ts';

const backup: VolumeBackup = {
  metadata: { name: 'data-abc', namespace: 'team', uid: 'u-1' },
  spec: { pvc: 'data', trigger: 'manual' },
};
const job = moverJob({
  backup,
  attempt: 2,
  image: 'safehold',
  task: {
    kind: 'backup',
    repository: { url: 's3:http://s3/b/team', initialize: true },
    sourcePath: '/data',
    host: 'k8s-team-nspvc-data',
    tags: [],
    cacheDir: '/cache',
    changeDetection: 'inode',
  },
  sourceClaim: 'data-abc-src',
  secretName: 'data-abc-creds',
  nodeName: 'node-2',
  deadlineSeconds: 600,
});
const pod = job.spec?.template.spec;
const container = pod?.containers[0];

describe('moverJob', () => {
  it('is locked down: no token, not privileged, read-only root, only DAC_READ_SEARCH', () => {
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(container?.securityContext).toEqual({
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] },
    });
    expect(pod?.volumes?.find((v) => v.name === 'source')?.persistentVolumeClaim).toEqual({
      claimName: 'data-abc-src',
      readOnly: true,
    });
  });

  it('is bounded, owned by its VolumeBackup and labelled with its run', () => {
    expect(job.metadata?.name).toBe('data-abc-2');
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 600 });
    expect(job.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'VolumeBackup',
      name: 'data-abc',
      uid: 'u-1',
      controller: true,
    });
    expect(job.metadata?.labels?.['safehold.io/run']).toBe('data-abc');
    expect(pod?.nodeSelector).toEqual({ 'kubernetes.io/hostname': 'node-2' });
  });

  it('carries secrets only as references, never in the task', () => {
    const env = container?.env ?? [];
    const task = env.find((e) => e.name === 'SAFEHOLD_TASK')?.value ?? '';
    expect(task).not.toMatch(/password|secret/i);
    expect(env.find((e) => e.name === 'RESTIC_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({
      name: 'data-abc-creds',
      key: 'RESTIC_PASSWORD',
    });
  });
});
