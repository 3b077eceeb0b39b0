// The benchmark's cluster: N namespaces with M bound PVCs each, statically
// provisioned (pre-bound PVs, no provisioner), so kube-controller-manager's
// real PV controller binds them. Idempotent: a rerun tops up what is missing.
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { ignoreAlreadyExists, kinds, type KubeClient } from '../src/kube/index.ts';

export const fixtureLabel = 'safehold.bench/fixture';
export const storageClassName = 'bench-static';

export interface FixtureSize {
  namespaces: number;
  claimsPerNamespace: number;
}

export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

export async function ensureFixture(client: KubeClient, size: FixtureSize, log: (line: string) => void): Promise<void> {
  const started = Date.now();
  await ignoreAlreadyExists(() =>
    client.create(kinds.storageClass, {
      metadata: { name: storageClassName, labels: { [fixtureLabel]: 'true' } },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'Immediate',
    } as never),
  );
  const namespaces = Array.from({ length: size.namespaces }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
  const existing = await client.list<PersistentVolumeClaim>(kinds.persistentVolumeClaim, {
    query: { labelSelector: fixtureLabel },
  });
  const have = new Set(existing.items.map((c) => `${c.metadata?.namespace ?? ''}/${c.metadata?.name ?? ''}`));
  await pool(namespaces, 16, async (name) => {
    await ignoreAlreadyExists(() =>
      client.create(kinds.namespace, {
        metadata: { name, labels: { [fixtureLabel]: 'true', team: `team-${name.slice(-1)}` } },
      }),
    );
  });
  const wanted = namespaces.flatMap((ns) =>
    Array.from({ length: size.claimsPerNamespace }, (_, i) => ({ ns, name: `data-${i}` })),
  );
  const missing = wanted.filter((w) => !have.has(`${w.ns}/${w.name}`));
  log(
    `fixture: ${namespaces.length} namespaces; ${wanted.length - missing.length} PVCs present, creating ${missing.length}`,
  );
  let done = 0;
  await pool(missing, 32, async ({ ns, name }) => {
    const pvName = `bench-${ns}-${name}`;
    const pv: PersistentVolume = {
      metadata: { name: pvName, labels: { [fixtureLabel]: 'true' } },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName,
        claimRef: { namespace: ns, name },
        hostPath: { path: `/tmp/safehold-bench/${pvName}` },
      },
    };
    await ignoreAlreadyExists(() => client.create(kinds.persistentVolume, pv));
    const claim: PersistentVolumeClaim = {
      metadata: {
        name,
        namespace: ns,
        labels: { [fixtureLabel]: 'true', ...(Number(name.slice(5)) % 3 === 0 ? { tier: 'db' } : {}) },
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        storageClassName,
        volumeName: pvName,
      },
    };
    await ignoreAlreadyExists(() => client.create(kinds.persistentVolumeClaim, claim));
    if (++done % 1000 === 0)
      log(`fixture: ${done}/${missing.length} created (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  });
  for (;;) {
    const claims = await client.list<PersistentVolumeClaim>(kinds.persistentVolumeClaim, {
      query: { labelSelector: fixtureLabel },
    });
    const bound = claims.items.filter((c) => c.status?.phase === 'Bound').length;
    log(`fixture: ${bound}/${wanted.length} PVCs bound (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    if (bound >= wanted.length) return;
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}
