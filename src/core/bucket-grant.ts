// The read grant Safehold keeps on every bucket it backs up: one statement of
// the bucket's policy, named by its Sid, letting Safehold's reader list the
// bucket and read its objects. The bucket's other statements are kept as they
// are; the grant is added, or put right when it says something else. Pure:
// the operator reads and writes the policy (bucket-discovery.ts).

/** The Sid of Safehold's statement: the one statement of a bucket's policy Safehold ever changes. */
export const grantSid = 'SafeholdBackupRead';

/** An object store user as a policy's principal (radosgw, without tenants: arn:aws:iam:::user/<uid>). */
export function userArn(uid: string): string {
  return `arn:aws:iam:::user/${uid}`;
}

/** Safehold's statement for a bucket: list it and read every object of it. */
export function readStatement(readerArn: string, bucket: string): Record<string, unknown> {
  return {
    Sid: grantSid,
    Effect: 'Allow',
    Principal: { AWS: [readerArn] },
    Action: ['s3:ListBucket', 's3:GetObject'],
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
  };
}

export type Grant =
  /** The policy to put; undefined when the bucket's policy already grants it. */
  { ok: true; policy: string | undefined } | { ok: false; reason: string };

/** The bucket's policy with Safehold's statement in it, from its current policy (undefined: it has none). */
export function grantRead(current: string | undefined, readerArn: string, bucket: string): Grant {
  const wanted = readStatement(readerArn, bucket);
  if (current === undefined || current.trim() === '')
    return { ok: true, policy: JSON.stringify({ Version: '2012-10-17', Statement: [wanted] }) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(current);
  } catch {
    return {
      ok: false,
      reason: `its bucket policy is not JSON: Safehold adds its statement only to a policy it can read`,
    };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { ok: false, reason: 'its bucket policy is not a JSON object' };
  const policy = parsed as Record<string, unknown>;
  const statements = policy.Statement === undefined ? [] : [policy.Statement].flat();
  if (statements.some((s) => typeof s !== 'object' || s === null))
    return { ok: false, reason: 'its bucket policy has a Statement that is not an object' };
  const others = (statements as Record<string, unknown>[]).filter((s) => s.Sid !== grantSid);
  const ours = (statements as Record<string, unknown>[]).filter((s) => s.Sid === grantSid);
  if (ours.length === 1 && sameJson(ours[0], wanted)) return { ok: true, policy: undefined };
  return {
    ok: true,
    policy: JSON.stringify({ ...policy, Version: policy.Version ?? '2012-10-17', Statement: [...others, wanted] }),
  };
}

/** Equal as JSON values, whatever the order of their keys. */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, canonical(v)]),
  );
}
