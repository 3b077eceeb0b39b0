import { describe, expect, it } from 'vitest';
import { drillCommandJob } from './drill-command-job.ts';

const input = {
  name: 'd-check',
  namespace: 'safehold-system',
  labels: { 'safehold.io/drill': 'd' },
  annotations: {},
  mover: { image: 'safehold:1', nodeSelector: { pool: 'backup' } },
  image: undefined,
  command: ['fsck', '-n', '/dev/safehold-target'],
  runAsUser: undefined,
  scratchClaim: 'd-scratch',
  deadlineSeconds: 1800,
};

describe('drillCommandJob', () => {
  it("puts a block volume's scratch device at /dev/safehold-target, in the mover's image by default", () => {
    const spec = drillCommandJob({ ...input, volumeMode: 'Block' }).spec?.template.spec;
    const container = spec?.containers[0];
    expect(container?.image).toBe('safehold:1');
    expect(container?.volumeDevices).toEqual([{ name: 'scratch', devicePath: '/dev/safehold-target' }]);
    expect(container?.env).toEqual([{ name: 'SAFEHOLD_DRILL_DEVICE', value: '/dev/safehold-target' }]);
    expect(container?.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    expect(spec?.nodeSelector).toEqual({ pool: 'backup' });
    expect(spec?.volumes).toEqual([{ name: 'scratch', persistentVolumeClaim: { claimName: 'd-scratch' } }]);
  });
  it("mounts a file volume's scratch writable at /data, in the policy's image and user", () => {
    const job = drillCommandJob({ ...input, volumeMode: 'Filesystem', image: 'postgres:17', runAsUser: 999 });
    const container = job.spec?.template.spec?.containers[0];
    expect(container?.image).toBe('postgres:17');
    expect(container?.volumeMounts).toEqual([{ name: 'scratch', mountPath: '/data' }]);
    expect(container?.securityContext).toEqual({ allowPrivilegeEscalation: false, runAsUser: 999 });
    expect(job.spec?.activeDeadlineSeconds).toBe(1800);
  });
});
