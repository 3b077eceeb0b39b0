import { describe, expect, it } from 'vitest';
import { listingFinding, nextProbe, probeIntervalMs, readyCondition, type ProbeFinding } from './repository-probe.ts';

const now = new Date('2026-11-22T12:00:00Z');
const minutes = (n: number) => new Date(now.getTime() - n * 60_000).toISOString();
const ready = (observedGeneration: number) => ({
  type: 'Ready',
  status: 'True' as const,
  reason: 'Ready',
  lastTransitionTime: minutes(60),
  observedGeneration,
});

describe('nextProbe', () => {
  it('probes a repository never probed at once', () => {
    expect(nextProbe({ metadata: { name: 'r', generation: 1 } }, now)).toEqual(now);
    expect(nextProbe({ metadata: { name: 'r', generation: 1 }, status: { conditions: [ready(1)] } }, now)).toEqual(now);
  });

  it('probes again an interval after the last probe', () => {
    const status = { conditions: [ready(2)], lastProbeTime: minutes(3) };
    expect(nextProbe({ metadata: { name: 'r', generation: 2 }, status }, now)).toEqual(
      new Date(now.getTime() + probeIntervalMs - 3 * 60_000),
    );
    expect(
      nextProbe({ metadata: { name: 'r', generation: 2 }, status: { ...status, lastProbeTime: minutes(11) } }, now),
    ).toEqual(new Date(now.getTime() - 60_000));
  });

  it('probes a repository that is not Ready every minute, so a fix shows soon', () => {
    const failed = { ...ready(2), status: 'False' as const, reason: 'BucketMissing' };
    const status = { conditions: [failed], lastProbeTime: minutes(0.5) };
    expect(nextProbe({ metadata: { name: 'r', generation: 2 }, status }, now)).toEqual(
      new Date(now.getTime() + 30_000),
    );
  });

  it('probes at once when the spec changed since the last probe (a new generation)', () => {
    const status = { conditions: [ready(2)], lastProbeTime: minutes(1) };
    expect(nextProbe({ metadata: { name: 'r', generation: 3 }, status }, now)).toEqual(now);
  });

  it('never waits longer than an interval, whatever a clock set ahead wrote', () => {
    const status = { conditions: [ready(2)], lastProbeTime: '2030-01-01T00:00:00Z' };
    expect(nextProbe({ metadata: { name: 'r', generation: 2 }, status }, now)).toEqual(
      new Date(now.getTime() + probeIntervalMs),
    );
  });
});

describe('listingFinding', () => {
  it('reads what S3 answered to a listing of the bucket', () => {
    expect(listingFinding({ status: 200, code: undefined }, 'b')).toBeUndefined();
    expect(listingFinding({ status: 404, code: 'NoSuchBucket' }, 'b')).toEqual({ kind: 'bucket-missing', bucket: 'b' });
    for (const code of ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied'])
      expect(listingFinding({ status: 403, code }, 'b')).toEqual({ kind: 'credentials-rejected', code });
    expect(listingFinding({ status: 403, code: undefined }, 'b')).toMatchObject({ kind: 'credentials-rejected' });
    expect(listingFinding({ status: 403, code: 'RequestTimeTooSkewed' }, 'b')).toMatchObject({ kind: 'unexpected' });
    expect(listingFinding({ status: 301, code: 'PermanentRedirect' }, 'b')).toEqual({
      kind: 'unexpected',
      detail: 'listing bucket b answered HTTP 301 PermanentRedirect',
    });
  });
});

describe('readyCondition', () => {
  const cases: [ProbeFinding, 'True' | 'False', string, string][] = [
    [{ kind: 'opened' }, 'True', 'Ready', 'password opens'],
    [{ kind: 'not-initialised', location: 's3:h/b/p' }, 'True', 'NotInitialised', 'spec.s3.prefix'],
    [{ kind: 'per-namespace', location: 's3:h/b/{namespace}' }, 'True', 'Ready', "each namespace's repository"],
    [{ kind: 'secret-missing', detail: 'Secret s/x not found' }, 'False', 'SecretNotFound', 'Secret s/x not found'],
    [
      { kind: 'unreachable', endpoint: 'http://h:1', detail: 'ECONNREFUSED' },
      'False',
      'EndpointUnreachable',
      'spec.s3.endpoint',
    ],
    [
      { kind: 'credentials-rejected', code: 'InvalidAccessKeyId' },
      'False',
      'CredentialsRejected',
      'spec.s3.accessKeyId',
    ],
    [{ kind: 'bucket-missing', bucket: 'b' }, 'False', 'BucketMissing', 'spec.s3.bucket'],
    [
      { kind: 'wrong-password', location: 's3:h/b', keys: 1, generated: false },
      'False',
      'WrongPassword',
      'spec.password',
    ],
    [{ kind: 'no-key', location: 's3:h/b', secret: 'ns/key' }, 'False', 'WrongPassword', 'spec.password'],
    [{ kind: 'unexpected', detail: 'HTTP 500' }, 'False', 'ProbeFailed', 'HTTP 500'],
  ];
  it.each(cases)('%o is Ready=%s (%s), naming what to fix', (finding, status, reason, mention) => {
    const condition = readyCondition(finding, 4);
    expect(condition).toMatchObject({ type: 'Ready', status, reason, observedGeneration: 4 });
    expect(condition.message).toContain(mention);
  });
});
