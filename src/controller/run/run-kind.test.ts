import { describe, expect, it } from 'vitest';
import type { Change, KubeObject } from '../../kube/index.ts';
import { runEnded } from './run-kind.ts';

const run = (phase: string | undefined) => ({ metadata: { name: 'r', namespace: 'ns' }, status: { phase } });
const finished = (r: { status?: { phase?: string | undefined } | undefined }) =>
  r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed';

describe('runEnded', () => {
  const ended = runEnded(finished);
  it.each<[string, Change<KubeObject>, boolean]>([
    ['a run that finishes', { type: 'updated', key: 'ns/r', old: run('Running'), object: run('Succeeded') }, true],
    ['a running run deleted', { type: 'deleted', key: 'ns/r', object: run('Running') }, true],
    ['a run still running', { type: 'updated', key: 'ns/r', old: run('Pending'), object: run('Running') }, false],
    ['a finished run changed', { type: 'updated', key: 'ns/r', old: run('Failed'), object: run('Failed') }, false],
    ['a finished run deleted', { type: 'deleted', key: 'ns/r', object: run('Succeeded') }, false],
    ['a new run', { type: 'added', key: 'ns/r', object: run(undefined) }, false],
  ])('%s', (_what, change, expected) => {
    expect(ended(change)).toBe(expected);
  });
});
