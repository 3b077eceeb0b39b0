import { describe, expect, it } from 'vitest';
import { grantRead, grantSid, readStatement, userArn } from './bucket-grant.ts';

const reader = userArn('safehold-reader');

describe('grantRead', () => {
  it('gives a bucket without a policy one holding only the grant', () => {
    const grant = grantRead(undefined, reader, 'photos');
    expect(grant).toEqual({
      ok: true,
      policy: JSON.stringify({ Version: '2012-10-17', Statement: [readStatement(reader, 'photos')] }),
    });
  });

  it('keeps the bucket owner’s own statements and adds the grant after them', () => {
    const own = {
      Sid: 'Public',
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::photos/*',
    };
    const grant = grantRead(JSON.stringify({ Version: '2012-10-17', Statement: own }), reader, 'photos');
    expect(grant.ok && JSON.parse(grant.policy ?? '{}')).toEqual({
      Version: '2012-10-17',
      Statement: [own, readStatement(reader, 'photos')],
    });
  });

  it('changes nothing when the grant is there, whatever the order of its keys', () => {
    const statement = readStatement(reader, 'photos');
    const reordered = Object.fromEntries(Object.entries(statement).reverse());
    expect(grantRead(JSON.stringify({ Statement: [reordered] }), reader, 'photos')).toEqual({
      ok: true,
      policy: undefined,
    });
  });

  it('puts right a grant that names another reader or bucket, and only it', () => {
    const stale = { ...readStatement(userArn('old-reader'), 'photos'), Sid: grantSid };
    const deny = { Sid: 'NoDelete', Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: '*' };
    const grant = grantRead(JSON.stringify({ Version: '2012-10-17', Statement: [deny, stale] }), reader, 'photos');
    const put = grant.ok ? (JSON.parse(grant.policy ?? '{}') as { Statement?: unknown }) : undefined;
    expect(put?.Statement).toEqual([deny, readStatement(reader, 'photos')]);
  });

  it.each([
    ['not JSON', '{"Statement": [', 'not JSON'],
    ['an array', '[]', 'not a JSON object'],
    ['a statement that is a string', '{"Statement": ["allow"]}', 'not an object'],
  ])('refuses a policy that is %s, saying why', (_, policy, reason) => {
    const grant = grantRead(policy, reader, 'photos');
    expect(grant.ok).toBe(false);
    expect(!grant.ok && grant.reason).toContain(reason);
  });
});
