// The control plane is the real one: kube-controller-manager's garbage
// collector removes a deleted Job's Pods, and RBAC denies an ordinary user
// what no role grants while a RoleBinding grants exactly what it says.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, kinds, type KubeClient } from '../src/kube/index.ts';
import { clientAs, createNamespace, deleteNamespace, runJob, waitFor } from './support/cluster.ts';

async function denied(call: () => Promise<unknown>): Promise<ApiError | undefined> {
  try {
    await call();
    return undefined;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
}

describe('the control plane', () => {
  let admin: KubeClient;
  let alice: KubeClient;
  let ns: string;

  beforeAll(async () => {
    admin = clientAs('admin');
    alice = clientAs('alice');
    ns = await createNamespace(admin, 'cp');
  });
  afterAll(async () => {
    await deleteNamespace(admin, ns);
    admin.close();
    alice.close();
  });

  it("removes a deleted Job's Pods through the garbage collector", async () => {
    const run = await runJob(admin, ns, 'short', { command: ['true'] });
    expect(run.pods).toHaveLength(1);
    await admin.delete(kinds.job, { namespace: ns, name: 'short' }, { propagationPolicy: 'Background' });
    await waitFor('the Job pods to be collected', async () => {
      const pods = await admin.list<Pod>(kinds.pod, {
        namespace: ns,
        query: { labelSelector: 'batch.kubernetes.io/job-name=short' },
      });
      return pods.items.length === 0;
    });
  });

  it('denies an ordinary user what no role grants', async () => {
    const listSecrets = await denied(() => alice.list(kinds.secret, { namespace: ns }));
    expect(listSecrets?.status).toBe(403);
    expect(listSecrets?.message).toContain('User "alice" cannot list resource "secrets"');
    expect((await denied(() => alice.list(kinds.node)))?.status).toBe(403);
    expect(
      (
        await denied(() =>
          alice.create(kinds.volumeSnapshot, {
            metadata: { name: 'x', namespace: ns },
            spec: { source: { persistentVolumeClaimName: 'x' } },
          } as never),
        )
      )?.status,
    ).toBe(403);
    expect(await denied(() => admin.list(kinds.secret, { namespace: ns }))).toBeUndefined();
  });

  it('grants an ordinary user exactly what a RoleBinding gives, in that namespace only', async () => {
    await admin.create(kinds.roleBinding, {
      metadata: { name: 'alice-view', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    } as never);
    await waitFor(
      'the binding to take effect',
      async () => (await denied(() => alice.list(kinds.pod, { namespace: ns }))) === undefined,
    );
    // view never includes Secrets, and the binding reaches no other namespace.
    expect((await denied(() => alice.list(kinds.secret, { namespace: ns })))?.status).toBe(403);
    expect((await denied(() => alice.list(kinds.pod, { namespace: 'default' })))?.status).toBe(403);
  });
});
