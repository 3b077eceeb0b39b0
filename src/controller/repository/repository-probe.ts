// One probe of one BackupRepository, from the operator: list the repository's
// keys in the bucket (which proves the endpoint answers, the S3 keys are
// accepted and the bucket exists), then try the password on a few of those
// keys. No Pod and no restic: a probe costs a few small requests and one
// scrypt per key tried, so every repository can be probed every few minutes.
// The S3 keys and the password are read for the probe and dropped after it.
import { isPerNamespace, repositoryUrl, type BackupRepository } from '../../api/index.ts';
import { listingFinding, presignS3, s3ObjectLocation, type ProbeFinding } from '../../core/index.ts';
import { isNotFound, kinds, type KubeClient } from '../../kube/index.ts';
import { generatedKeyName, secretProblem } from '../run/repository-credentials.ts';
import { passwordOpensKey } from './restic-key.ts';

export interface ProbeDeps {
  client: KubeClient;
  /** Safehold's namespace, where generated repository keys live. */
  namespace: string;
  timeoutMs?: number;
}

/** At most this many key files are tried: restic repositories rarely hold more. */
const maxKeysTried = 5;

type SecretRef = { namespace: string; name: string; key: string };

export async function probeRepository(deps: ProbeDeps, repository: BackupRepository): Promise<ProbeFinding> {
  const { spec } = repository;
  const where = (field: string) => `BackupRepository ${repository.metadata.name} ${field}`;
  const accessKeyId = await secretValue(deps.client, spec.s3.accessKeyId, where('spec.s3.accessKeyId'));
  if ('missing' in accessKeyId) return { kind: 'secret-missing', detail: accessKeyId.missing };
  const secretAccessKey = await secretValue(deps.client, spec.s3.secretAccessKey, where('spec.s3.secretAccessKey'));
  if ('missing' in secretAccessKey) return { kind: 'secret-missing', detail: secretAccessKey.missing };

  const perNamespace = isPerNamespace(spec);
  const location = s3ObjectLocation(repositoryUrl(spec, '{namespace}'));
  if (!location.ok) return { kind: 'unexpected', detail: location.error };
  const { endpoint, bucket, prefix } = location.location;
  const shown = `s3:${endpoint}/${bucket}${prefix === '' ? '' : `/${prefix}`}`;
  const signed = (request: { key: string; list?: { prefix: string; maxKeys: number } }) =>
    presignS3({
      method: 'GET',
      endpoint,
      bucket,
      region: spec.s3.region,
      accessKeyId: accessKeyId.value,
      secretAccessKey: secretAccessKey.value,
      expiresSeconds: 300,
      // S3 checks the signature's time against its own clock: the wall clock, whatever clock decides schedules.
      now: new Date(),
      ...request,
    });
  const keysPrefix = perNamespace
    ? prefix.slice(0, prefix.indexOf('{namespace}'))
    : `${prefix === '' ? '' : `${prefix}/`}keys/`;
  const listing = await get(signed({ key: '', list: { prefix: keysPrefix, maxKeys: perNamespace ? 1 : 100 } }), deps);
  if ('unreachable' in listing) return { kind: 'unreachable', endpoint, detail: listing.unreachable };
  const problem = listingFinding({ status: listing.status, code: xmlText(listing.body, 'Code')[0] }, bucket);
  if (problem !== undefined) return problem;
  if (perNamespace) return { kind: 'per-namespace', location: shown };
  const keys = xmlText(listing.body, 'Key');
  if (keys.length === 0) return { kind: 'not-initialised', location: shown };

  const password =
    spec.password === undefined
      ? await generatedPassword(deps, repository.metadata.name)
      : await secretValue(deps.client, spec.password, where('spec.password'));
  if ('missing' in password)
    return spec.password === undefined
      ? { kind: 'no-key', location: shown, secret: password.missing }
      : { kind: 'secret-missing', detail: password.missing };
  for (const key of keys.slice(0, maxKeysTried)) {
    const file = await get(signed({ key }), deps);
    if ('unreachable' in file) return { kind: 'unreachable', endpoint, detail: file.unreachable };
    if (file.status !== 200) continue;
    if ((await passwordOpensKey(file.body, password.value)) === 'opens') return { kind: 'opened' };
  }
  return { kind: 'wrong-password', location: shown, keys: keys.length, generated: spec.password === undefined };
}

async function get(url: string, deps: ProbeDeps): Promise<{ status: number; body: string } | { unreachable: string }> {
  const timeoutMs = deps.timeoutMs ?? 10_000;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError')
      return { unreachable: `no answer within ${timeoutMs / 1000} s` };
    const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
    return { unreachable: cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error)) };
  }
}

/** The texts of every <tag> in an S3 XML answer, entities decoded. */
function xmlText(body: string, tag: string): string[] {
  return [...body.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) =>
    (m[1] ?? '')
      .replaceAll('&lt;', '<')
      .replaceAll('&gt;', '>')
      .replaceAll('&quot;', '"')
      .replaceAll('&apos;', "'")
      .replaceAll('&amp;', '&'),
  );
}

async function secretValue(
  client: KubeClient,
  ref: SecretRef,
  where: string,
): Promise<{ value: string } | { missing: string }> {
  try {
    const secret = await client.get<{ data?: Record<string, string> }>(kinds.secret, {
      namespace: ref.namespace,
      name: ref.name,
    });
    const value = secret.data?.[ref.key];
    if (value === undefined)
      return { missing: `Secret ${ref.namespace}/${ref.name} has no key "${ref.key}" (${where})` };
    return { value: Buffer.from(value, 'base64').toString('utf8') };
  } catch (error) {
    const problem = secretProblem(error, ref, where);
    if (problem === undefined) throw error;
    return { missing: problem };
  }
}

/** The password Safehold generated for a shared repository; never created here. */
async function generatedPassword(
  deps: ProbeDeps,
  repository: string,
): Promise<{ value: string } | { missing: string }> {
  const name = generatedKeyName(repository, '');
  try {
    const secret = await deps.client.get<{ data?: Record<string, string> }>(kinds.secret, {
      namespace: deps.namespace,
      name,
    });
    const value = secret.data?.password;
    return value === undefined
      ? { missing: `${deps.namespace}/${name}` }
      : { value: Buffer.from(value, 'base64').toString('utf8') };
  } catch (error) {
    if (isNotFound(error)) return { missing: `${deps.namespace}/${name}` };
    throw error;
  }
}
