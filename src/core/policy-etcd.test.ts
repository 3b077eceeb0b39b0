import { describe, expect, it } from 'vitest';
import { applicationDumpSpec, backupPolicySpec, type BackupPolicy } from '../api/index.ts';
import { etcdDumpName, policyEtcdDumps } from './policy-etcd.ts';

const policy = (name: string, spec: object): BackupPolicy => ({
  metadata: { name },
  spec: backupPolicySpec.parse({ repository: { name: 'main' }, ...spec }),
});

describe('policyEtcdDumps', () => {
  const volumesOnly = policy('volumes-only', { default: true, schedule: { cron: '0 2 * * *' } });

  it("keeps one etcd dump in Safehold's namespace, kubeadm's settings by default, on the policy's schedule", () => {
    const fallback = policy('fallback', { default: true, schedule: { cron: '0 2 * * *' }, etcd: {} });
    const desired = policyEtcdDumps({ policies: [volumesOnly, fallback], operatorNamespace: 'safehold' });
    expect(desired).toEqual([
      {
        namespace: 'safehold',
        name: etcdDumpName,
        policy: 'fallback',
        spec: {
          etcd: {
            endpoints: ['https://127.0.0.1:2379'],
            certificates: {
              hostPath: '/etc/kubernetes/pki/etcd',
              caFile: 'ca.crt',
              certFile: 'healthcheck-client.crt',
              keyFile: 'healthcheck-client.key',
            },
            nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
          },
          schedule: fallback.spec.schedule,
          retention: fallback.spec.retention,
          repository: 'main',
        },
      },
    ]);
    // What the operator creates is a valid ApplicationDump.
    expect(applicationDumpSpec.safeParse(desired[0]?.spec).success).toBe(true);
  });

  it('follows the policy of highest priority, with its own schedule, retention and settings', () => {
    const low = policy('low', { default: true, etcd: {} });
    const high = policy('high', {
      priority: 900,
      selector: { namespaceSelector: { matchLabels: { tier: 'gold' } } },
      etcd: {
        endpoints: ['https://10.0.0.10:2379', 'https://10.0.0.11:2379'],
        certificates: { hostPath: '/var/lib/rancher/etcd/pki', certFile: 'client.crt', keyFile: 'client.key' },
        nodeSelector: { 'node-role.kubernetes.io/etcd': 'true' },
        schedule: { cron: '*/30 * * * *' },
        retention: { keepHourly: 24 },
      },
    });
    const [dump] = policyEtcdDumps({ policies: [low, high], operatorNamespace: 'safehold' });
    expect(dump?.policy).toBe('high');
    expect(dump?.spec).toMatchObject({
      etcd: {
        endpoints: ['https://10.0.0.10:2379', 'https://10.0.0.11:2379'],
        certificates: { hostPath: '/var/lib/rancher/etcd/pki', caFile: 'ca.crt', certFile: 'client.crt' },
        nodeSelector: { 'node-role.kubernetes.io/etcd': 'true' },
      },
      schedule: { cron: '*/30 * * * *' },
      retention: { keepHourly: 24 },
    });
    expect(dump?.spec.etcd).not.toHaveProperty('schedule');
  });

  it('keeps none when no policy has spec.etcd', () => {
    expect(policyEtcdDumps({ policies: [volumesOnly], operatorNamespace: 'safehold' })).toEqual([]);
  });
});
