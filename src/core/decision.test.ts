import { describe, expect, it } from 'vitest';
import { backupPolicySpec, type BackupPolicy } from '../api/index.ts';
import { decide, type PolicyContext, type VolumeFacts } from './decision.ts';

type Value = 'unset' | 'true' | 'false' | 'malformed';
const values: Value[] = ['unset', 'true', 'false', 'malformed'];
const annotate = (value: Value): Record<string, string> =>
  value === 'unset' ? {} : { 'safehold.io/backup': value === 'malformed' ? 'yes' : value };

function policy(name: string, spec: Record<string, unknown>): BackupPolicy {
  return { metadata: { name }, spec: backupPolicySpec.parse(spec) };
}

const defaultPolicy = policy('everything', { default: true });
const context = (policies: BackupPolicy[], workloadClaims = new Map<string, Set<string>>()): PolicyContext => ({
  policies,
  workloadClaims,
  aliases: { annotations: [], labels: [] },
});

function facts(pv: Value, ns: Value, pvc: Value, sc: Value): VolumeFacts {
  return {
    claim: {
      metadata: { name: 'data', namespace: 'team', annotations: annotate(pvc) },
      spec: { storageClassName: 'fast', volumeName: 'pv-1' },
    },
    volume: { metadata: { name: 'pv-1', annotations: annotate(pv) } },
    namespace: { metadata: { name: 'team', annotations: annotate(ns) } },
    storageClass: { metadata: { name: 'fast', annotations: annotate(sc) }, provisioner: 'x' },
  };
}

// The truth table, written as seed 001 states it, first matching row wins.
// Outcome: P = protected (rule), X = excluded (by), U = UNPROTECTED (malformed).
function expected(pv: Value, ns: Value, pvc: Value, sc: Value): string {
  if (pv === 'malformed') return 'U PersistentVolume';
  if (pv === 'true') return 'P pv-annotation';
  if (pv === 'false') return 'X PersistentVolume';
  if (ns === 'malformed') return 'U Namespace';
  if (ns === 'false') return 'X Namespace';
  if (ns === 'true') {
    if (pvc === 'malformed') return 'U PersistentVolumeClaim';
    if (pvc === 'false') return 'X PersistentVolumeClaim';
    return 'P namespace-annotation';
  }
  if (pvc === 'malformed') return 'U PersistentVolumeClaim';
  if (pvc === 'true') return 'P pvc-annotation';
  if (pvc === 'false') return 'X PersistentVolumeClaim';
  if (sc === 'malformed') return 'U StorageClass';
  if (sc === 'true') return 'P storage-class-annotation';
  if (sc === 'false') return 'X StorageClass';
  return 'P default-policy';
}

const kindWord: Record<string, string> = {
  PersistentVolume: 'PV',
  Namespace: 'namespace',
  PersistentVolumeClaim: 'the PVC',
  StorageClass: 'StorageClass',
};

describe('decide: the annotation truth table (PV x Namespace x PVC x StorageClass)', () => {
  const rows = values.flatMap((pv) =>
    values.flatMap((ns) => values.flatMap((pvc) => values.map((sc) => [pv, ns, pvc, sc] as const))),
  );

  it.each(rows)('PV=%s namespace=%s PVC=%s StorageClass=%s', (pv, ns, pvc, sc) => {
    const { decision } = decide(facts(pv, ns, pvc, sc), context([defaultPolicy]));
    const want = expected(pv, ns, pvc, sc);
    const [state, detail] = want.split(' ') as [string, string];
    switch (decision.state) {
      case 'protected':
        expect(`P ${decision.rule}`).toBe(want);
        expect(decision.policy).toBe('everything');
        break;
      case 'excluded':
        expect(`X ${decision.by}`).toBe(want);
        expect(decision.reason).toContain('safehold.io/backup=false');
        break;
      case 'unprotected':
        expect(state).toBe('U');
        expect(decision.cause).toBe('MalformedAnnotation');
        expect(decision.reason).toContain(kindWord[detail]);
        expect(decision.reason).toContain('safehold.io/backup="yes"');
        break;
    }
  });

  it("agrees with seed 001's formula wherever nothing is malformed and the StorageClass is silent", () => {
    const clean: Value[] = ['unset', 'true', 'false'];
    for (const pv of clean)
      for (const ns of clean)
        for (const pvc of clean) {
          // Seed 001: backed up if PV true, or PV unset and (namespace true or unset) and PVC true or unset.
          const seed = pv === 'true' || (pv === 'unset' && ns !== 'false' && pvc !== 'false');
          expect(decide(facts(pv, ns, pvc, 'unset'), context([defaultPolicy])).decision.state === 'protected').toBe(
            seed,
          );
        }
  });

  it('reports every malformed value as a problem on its own object, even where it does not decide', () => {
    const { problems } = decide(facts('true', 'malformed', 'malformed', 'malformed'), context([defaultPolicy]));
    expect(problems.map((p) => `${p.kind}/${p.name}`)).toEqual([
      'Namespace/team',
      'PersistentVolumeClaim/data',
      'StorageClass/fast',
    ]);
    expect(problems[1]).toMatchObject({ namespace: 'team', key: 'safehold.io/backup', value: 'yes' });
  });
});

describe('decide: malformed values', () => {
  it.each(['yes', 'TRUE ', 'True', '1', ''])('%j is never taken as true or false', (value) => {
    const f = facts('unset', 'unset', 'unset', 'unset');
    f.claim.metadata = { ...f.claim.metadata, annotations: { 'safehold.io/backup': value } };
    const { decision, problems } = decide(f, context([defaultPolicy]));
    expect(decision).toMatchObject({ state: 'unprotected', cause: 'MalformedAnnotation' });
    expect(problems).toHaveLength(1);
  });
});

describe('decide: policies', () => {
  const plain = facts('unset', 'unset', 'unset', 'unset');

  it('is UNPROTECTED when no policy selects it and there is no default', () => {
    expect(decide(plain, context([])).decision).toMatchObject({ state: 'unprotected', cause: 'NoPolicy' });
  });

  it('is UNPROTECTED when annotated true but no policy applies', () => {
    const { decision } = decide(facts('unset', 'unset', 'true', 'unset'), context([]));
    expect(decision).toMatchObject({ state: 'unprotected', cause: 'NoPolicy' });
    expect(decision.reason).toContain('the PVC says safehold.io/backup=true');
  });

  it('prefers the highest priority selecting policy over the default', () => {
    const gold = policy('gold', { priority: 500, selector: { storageClasses: ['fast'] } });
    const silver = policy('silver', { priority: 200, selector: { namespaceSelector: {} } });
    expect(decide(plain, context([defaultPolicy, silver, gold])).decision).toMatchObject({
      state: 'protected',
      policy: 'gold',
      rule: 'policy-selector',
    });
  });

  it('reports a conflict between policies of equal priority', () => {
    const a = policy('a', { priority: 300, selector: { storageClasses: ['fast'] } });
    const b = policy('b', { priority: 300, selector: { pvcSelector: {} } });
    const { decision } = decide(plain, context([a, b, defaultPolicy]));
    expect(decision).toMatchObject({ state: 'unprotected', cause: 'PolicyConflict' });
    expect(decision.reason).toContain('policies a, b all select it with priority 300');
  });

  it("selects by seed 000's PV label as is", () => {
    const cern = policy('cephfs', {
      selector: { pvSelector: { matchLabels: { 'backup-cephfs-volumes.cern.ch/backup': 'true' } } },
    });
    const labelled = facts('unset', 'unset', 'unset', 'unset');
    labelled.volume = { metadata: { name: 'pv-1', labels: { 'backup-cephfs-volumes.cern.ch/backup': 'true' } } };
    expect(decide(labelled, context([cern])).decision).toMatchObject({ state: 'protected', policy: 'cephfs' });
    expect(decide(plain, context([cern])).decision).toMatchObject({ state: 'unprotected', cause: 'NoPolicy' });
  });

  it('needs every selector field it sets to match', () => {
    const both = policy('both', {
      selector: { storageClasses: ['fast'], pvcSelector: { matchLabels: { tier: 'db' } } },
    });
    expect(decide(plain, context([both])).decision.state).toBe('unprotected');
  });

  it('selects PVCs of the workloads a policy names', () => {
    const vms = policy('vms', { selector: { workloads: [{ namespace: 'team', kind: 'Deployment', name: 'vm' }] } });
    const claims = new Map([['vms', new Set(['team/data'])]]);
    expect(decide(plain, context([vms], claims)).decision).toMatchObject({
      state: 'protected',
      policy: 'vms',
      rule: 'policy-selector',
    });
    expect(decide(plain, context([vms])).decision.state).toBe('unprotected');
  });

  it("reads alias keys as safehold.io/backup (seed 001's cephbackup.hpc.nyu.edu/backup)", () => {
    const f = facts('unset', 'unset', 'unset', 'unset');
    f.namespace = { metadata: { name: 'team', annotations: { 'cephbackup.hpc.nyu.edu/backup': 'false' } } };
    const aliased = {
      ...context([defaultPolicy]),
      aliases: { annotations: ['cephbackup.hpc.nyu.edu/backup'], labels: [] },
    };
    expect(decide(f, aliased).decision).toMatchObject({ state: 'excluded', by: 'Namespace' });
    expect(decide(f, context([defaultPolicy])).decision).toMatchObject({ state: 'protected', rule: 'default-policy' });
  });

  it('reports an alias that disagrees with safehold.io/backup as malformed', () => {
    const f = facts('unset', 'unset', 'unset', 'unset');
    f.claim.metadata = {
      ...f.claim.metadata,
      annotations: { 'safehold.io/backup': 'true', 'cephbackup.hpc.nyu.edu/backup': 'false' },
    };
    const aliased = {
      ...context([defaultPolicy]),
      aliases: { annotations: ['cephbackup.hpc.nyu.edu/backup'], labels: [] },
    };
    expect(decide(f, aliased).decision).toMatchObject({ state: 'unprotected', cause: 'MalformedAnnotation' });
  });
});
