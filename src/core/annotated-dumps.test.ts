import { describe, expect, it } from 'vitest';
import { annotatedDump, type AnnotatedPod } from './annotated-dumps.ts';

const pod = (annotations: Record<string, string>, over: Partial<AnnotatedPod> = {}): AnnotatedPod => ({
  namespace: 'shop',
  name: 'db-7d9f8c6b5-x2x4q',
  labels: { app: 'db', 'pod-template-hash': '7d9f8c6b5' },
  annotations,
  containers: ['postgres', 'exporter'],
  owner: { kind: 'ReplicaSet', name: 'db-7d9f8c6b5' },
  ...over,
});
const nightly = {
  schedule: { cron: '0 2 * * *', timeZone: 'UTC', spreadWindow: '1h' },
  retention: { keepDaily: 7, orphanGracePeriod: '30d' },
};

describe('annotatedDump', () => {
  it("reads K8up's backup command as a shell command, named after the Deployment, on the volumes' policy", () => {
    const declared = annotatedDump(
      pod({ 'k8up.io/backupcommand': 'pg_dumpall -U postgres', 'k8up.io/file-extension': '.sql' }),
      nightly,
    );
    expect(declared).toEqual({
      kind: 'dump',
      name: 'db-dump',
      spec: {
        podSelector: { matchLabels: { app: 'db' } },
        container: 'postgres',
        command: ['/bin/sh', '-c', 'pg_dumpall -U postgres'],
        fileName: 'db-postgres.sql',
        ...nightly,
      },
    });
  });

  it('takes our own annotations first: a JSON command, its container and file', () => {
    const declared = annotatedDump(
      pod({
        'dump.safehold.io/command': '["redis-cli", "--rdb", "-"]',
        'dump.safehold.io/container': 'exporter',
        'dump.safehold.io/file': 'dump.rdb',
        'k8up.io/backupcommand': 'ignored',
      }),
      undefined,
    );
    expect(declared).toMatchObject({
      kind: 'dump',
      spec: { container: 'exporter', command: ['redis-cli', '--rdb', '-'], fileName: 'dump.rdb' },
    });
    // No policy protects its volumes: no schedule, so it runs when asked.
    expect(declared?.kind === 'dump' ? declared.spec.schedule : 'none').toBeUndefined();
  });

  it.each<{ annotations: Record<string, string>; error: unknown }>([
    {
      annotations: { 'dump.safehold.io/command': '["pg_dumpall", 3]' },
      error: 'Pod shop/db-7d9f8c6b5-x2x4q: annotation dump.safehold.io/command is not a JSON array of strings',
    },
    {
      annotations: { 'k8up.io/backupcommand': 'mysqldump', 'k8up.io/backupcommand-container': 'mysql' },
      error:
        'Pod shop/db-7d9f8c6b5-x2x4q: annotation k8up.io/backupcommand-container names "mysql", which it does not have',
    },
    {
      annotations: { 'k8up.io/backupcommand': 'slapcat', 'dump.safehold.io/file': '../etc/passwd' },
      error: expect.stringContaining('annotation dump.safehold.io/file: "../etc/passwd" is not a file name'),
    },
  ])('names the Pod and the annotation that is wrong: $error', ({ annotations, error }) => {
    expect(annotatedDump(pod(annotations), nightly)).toEqual({ kind: 'error', message: error });
  });

  it('declares nothing for a Pod without the annotations', () => {
    expect(annotatedDump(pod({}), nightly)).toBeUndefined();
  });
});
