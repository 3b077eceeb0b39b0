import { describe, expect, it } from 'vitest';
import type { MoverTask, VolumeBackup } from '../api/index.ts';
import { fnv1a, moverJob, moverJobName, moverSourceDevice, runObjectBase, runObjectLabels } from './mover-job.ts';

const backup: VolumeBackup = {
  metadata: { name: 'data-abc', namespace: 'team', uid: 'u-1' },
  spec: { pvc: 'data', trigger: 'manual' },
};
const job = moverJob({
  name: moverJobName(backup, 2),
  namespace: 'safehold-system',
  labels: runObjectLabels(backup, true),
  mover: { image: 'safehold' },
  task: {
    kind: 'backup',
    repository: { engine: 'restic' as const, url: 's3:http://s3/b/team', initialize: true },
    sourcePath: '/data',
    host: 'k8s-team-nspvc-data',
    tags: [],
    cacheDir: '/cache',
    compression: 'auto',
    verifyBeforeUpload: true,
    changeDetection: 'inode',
  },
  sourceClaim: runObjectBase(backup),
  secretName: 'data-abc-creds',
  nodeName: 'node-2',
  deadlineSeconds: 600,
});
/** A plain file backup's task, for the cases that vary only the Job around it. */
const fileBackup: MoverTask = {
  kind: 'backup',
  repository: { engine: 'restic' as const, url: 's3:http://s3/b/team', initialize: true },
  sourcePath: '/data',
  host: 'h',
  tags: [],
  cacheDir: '/cache',
  compression: 'auto',
  verifyBeforeUpload: true,
  changeDetection: 'mtime-size',
};
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
      claimName: runObjectBase(backup),
      readOnly: true,
    });
  });

  it("runs in Safehold's namespace, bounded, labelled with its run and the run's namespace, owned by nobody", () => {
    expect(job.metadata?.namespace).toBe('safehold-system');
    expect(job.metadata?.name).toBe(`team-data-abc-${fnv1a('team/data-abc')}-2`);
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 600 });
    // An owner in another namespace would make the garbage collector delete the Job at once.
    expect(job.metadata?.ownerReferences).toBeUndefined();
    expect(job.metadata?.labels).toMatchObject({ 'safehold.io/run': 'data-abc', 'safehold.io/namespace': 'team' });
    expect(pod?.nodeSelector).toEqual({ 'kubernetes.io/hostname': 'node-2' });
  });

  it('keeps run object names within 63 characters and distinct across namespaces', () => {
    const long = (ns: string): VolumeBackup => ({
      metadata: { name: `${'x'.repeat(200)}-scheduled-29000000`, namespace: ns },
      spec: { pvc: 'p', trigger: 'schedule' },
    });
    const a = moverJobName(long('a'.repeat(63)), 10);
    const b = moverJobName(long(`${'a'.repeat(62)}b`), 10);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
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

describe('moverJob for a block volume', () => {
  const blockJob = moverJob({
    name: 'disk-1',
    namespace: 'safehold-system',
    labels: {},
    mover: { image: 'safehold' },
    task: {
      kind: 'block-backup',
      repository: { engine: 'restic' as const, url: 's3:http://s3/b/team', initialize: true },
      devicePath: moverSourceDevice,
      fileName: 'disk.qcow2',
      host: 'k8s-team-nspvc-disk',
      tags: [],
      cacheDir: '/cache',
      compression: 'auto',
      verifyBeforeUpload: true,
      extents: { source: 'zero-scan' },
    },
    sourceClaim: 'disk-alias',
    volumeMode: 'Block',
    secretName: 'disk-creds',
    deadlineSeconds: 600,
  });
  const spec = blockJob.spec?.template.spec;
  const mover = spec?.containers[0];

  it('hands the claim over as a device, read only, and mounts no folder for it', () => {
    expect(mover?.volumeDevices).toEqual([{ name: 'source', devicePath: moverSourceDevice }]);
    expect(mover?.volumeMounts?.map((m) => m.name)).toEqual(['cache', 'tmp']);
    expect(spec?.volumes?.find((v) => v.name === 'source')?.persistentVolumeClaim?.readOnly).toBe(true);
  });

  it("takes the Ceph user's key from the run's Secret, where the Secret may lack it", () => {
    expect(mover?.env?.find((e) => e.name === 'CEPH_USER_KEY')?.valueFrom?.secretKeyRef).toEqual({
      name: 'disk-creds',
      key: 'CEPH_USER_KEY',
      optional: true,
    });
  });

  it('mounts a cephfs-snapshot source writable, for its .snap folder, and nothing else changes', () => {
    const cephfs = moverJob({
      ...{
        name: 'fs-1',
        namespace: 'safehold-system',
        labels: {},
        mover: { image: 'safehold' },
        secretName: 's',
        deadlineSeconds: 60,
      },
      task: { ...fileBackup, cephfsSnapshot: { name: 'safehold-backup' } },
      sourceClaim: 'fs-alias',
      sourceWritable: true,
    }).spec?.template.spec;
    expect(cephfs?.containers[0]?.volumeMounts?.find((m) => m.name === 'source')?.readOnly).toBe(false);
    expect(cephfs?.containers[0]?.env?.some((e) => e.name === 'CEPH_USER_KEY')).toBe(false);
  });

  it("mounts a restore's target where its task writes, below /target", () => {
    const restore = moverJob({
      ...{ name: 'r-1', namespace: 'safehold-system', labels: {}, mover: { image: 'safehold' } },
      task: {
        kind: 'restore',
        repository: { engine: 'restic' as const, url: 's3:http://s3/b/team', initialize: false },
        cacheDir: '/cache',
        source: { snapshotId: 'a1b2c3d4', snapshotPath: '/data' },
        targetPath: '/target/data',
        paths: [],
        deleteExtra: false,
        verify: false,
      },
      targetClaim: 'back',
      secretName: 's',
      deadlineSeconds: 60,
    }).spec?.template.spec;
    expect(restore?.containers[0]?.volumeMounts?.find((m) => m.name === 'target')?.mountPath).toBe('/target/data');
    expect(restore?.volumes?.find((v) => v.name === 'target')?.persistentVolumeClaim?.claimName).toBe('back');
  });
});

describe('moverJob for a Git repository', () => {
  const gitJob = moverJob({
    name: 'git-1-mover',
    namespace: 'safehold-system',
    labels: {},
    mover: { image: 'safehold' },
    task: {
      kind: 'git-backup',
      repository: { engine: 'restic' as const, url: 's3:http://s3/b/team', initialize: true },
      url: 'https://git.example.com/flux-system.git',
      fileName: 'repository.bundle',
      host: 'h',
      tags: [],
      cacheDir: '/cache',
      compression: 'auto',
      credentials: { kind: 'basic' },
    },
    secretName: 'git-1-creds',
    deadlineSeconds: 600,
  });

  it("takes the Git credentials from the run's Secret, those it has, and mounts no volume", () => {
    const env = gitJob.spec?.template.spec?.containers[0]?.env ?? [];
    for (const key of ['GIT_USERNAME', 'GIT_PASSWORD', 'GIT_SSH_KEY', 'GIT_KNOWN_HOSTS'])
      expect(env.find((e) => e.name === key)?.valueFrom?.secretKeyRef).toEqual({
        name: 'git-1-creds',
        key,
        optional: true,
      });
    expect(JSON.stringify(env.find((e) => e.name === 'SAFEHOLD_TASK'))).not.toContain('GIT_PASSWORD');
    expect(gitJob.spec?.template.spec?.containers[0]?.stdin).toBeUndefined();
  });
});

describe('moverJob for a bucket', () => {
  const bucket = { endpoint: 'http://rgw:7480', name: 'photos', region: 'us-east-1' };
  const repository = { engine: 'restic' as const, url: 's3:http://s3/b/cluster', initialize: true };
  const job = (task: MoverTask) =>
    moverJob({
      name: 'bucket-1-mover',
      namespace: 'safehold-system',
      labels: {},
      mover: { image: 'safehold' },
      task,
      secretName: 'bucket-1-creds',
      deadlineSeconds: 600,
    });
  const backup = job({
    kind: 'bucket-backup',
    repository,
    bucket,
    host: 'rgw-photos',
    tags: [],
    cacheDir: '/cache',
    compression: 'auto',
  });
  const restore = job({
    kind: 'bucket-restore',
    repository,
    snapshotId: 'abcdef12',
    sourceBucket: 'photos',
    bucket,
    deleteNewer: false,
    cacheDir: '/cache',
  });

  it("takes the bucket's keys from the run's Secret, beside the repository's, for a backup and a restore", () => {
    for (const made of [backup, restore]) {
      const env = made.spec?.template.spec?.containers[0]?.env ?? [];
      for (const key of ['BUCKET_ACCESS_KEY_ID', 'BUCKET_SECRET_ACCESS_KEY'])
        expect(env.find((e) => e.name === key)?.valueFrom?.secretKeyRef).toEqual({
          name: 'bucket-1-creds',
          key,
          optional: true,
        });
      expect(env.find((e) => e.name === 'AWS_ACCESS_KEY_ID')?.valueFrom?.secretKeyRef?.key).toBe('AWS_ACCESS_KEY_ID');
      expect(made.spec?.template.spec?.containers[0]?.volumeMounts?.map((m) => m.name)).toEqual(['cache', 'tmp']);
    }
  });
});

describe("the admin's mover Pod settings", () => {
  const input = (nodeName: string | undefined) =>
    moverJob({
      name: 'm',
      namespace: 'safehold-system',
      labels: {},
      mover: {
        image: 'registry.example/safehold:1',
        resources: { requests: { cpu: '250m' }, limits: { memory: '2Gi' } },
        nodeSelector: { 'node-role/backup': 'true' },
        tolerations: [{ key: 'backup', operator: 'Exists', effect: 'NoSchedule' }],
        serviceAccountName: 'safehold-mover',
      },
      task: fileBackup,
      secretName: 's',
      nodeName,
      deadlineSeconds: 60,
    }).spec?.template.spec;

  it('reach every mover Pod: image, resources, nodeSelector, tolerations, ServiceAccount', () => {
    const spec = input(undefined);
    expect(spec?.serviceAccountName).toBe('safehold-mover');
    expect(spec?.automountServiceAccountToken).toBe(false);
    expect(spec?.containers[0]?.image).toBe('registry.example/safehold:1');
    expect(spec?.containers[0]?.resources).toEqual({ requests: { cpu: '250m' }, limits: { memory: '2Gi' } });
    expect(spec?.nodeSelector).toEqual({ 'node-role/backup': 'true' });
    expect(spec?.tolerations).toEqual([{ key: 'backup', operator: 'Exists', effect: 'NoSchedule' }]);
  });

  it("keep the node a live volume pins the mover to, beside the admin's selector", () => {
    expect(input('node-2')?.nodeSelector).toEqual({ 'node-role/backup': 'true', 'kubernetes.io/hostname': 'node-2' });
  });
});
