// The credentials a mover needs for one restic repository: the S3 keys and
// the repository password, read from the Secrets the BackupRepository names,
// or, when it names no password, from the key Safehold generated for that
// repository (one per namespace for a per-namespace repository). Generated
// keys live in Safehold's namespace only and are never regenerated: a lost
// key Secret makes backups fail with WrongPassword, never silently start a
// second repository.
import { randomBytes } from 'node:crypto';
import { type BackupRepository } from '../../api/index.ts';
import { fnv1a } from '../../core/index.ts';
import { ignoreAlreadyExists, isForbidden, isNotFound, kinds, type KubeClient } from '../../kube/index.ts';

export const repositoryLabel = 'safehold.io/repository';
export const tenantLabel = 'safehold.io/tenant';

type SecretData = Record<string, string>;

export function generatedKeyName(repository: string, tenant: string): string {
  const readable = `key-${repository}${tenant === '' ? '' : `-${tenant}`}`.slice(0, 60).replace(/-+$/, '');
  return `${readable}-${fnv1a(`${repository}/${tenant}`)}`;
}

/** Where a repository's password and S3 keys come from, in the words a user fixes them with (see repositoryTarget.source). */
export function repositorySource(
  safeholdNamespace: string,
  repo: BackupRepository,
  tenant: string,
): { repository: string; password: string; s3Keys: string } {
  const name = `BackupRepository ${repo.metadata.name}`;
  const ref = (field: string, r: { namespace: string; name: string; key: string }) =>
    `${name} ${field} (Secret ${r.namespace}/${r.name}, key ${r.key})`;
  const password =
    repo.spec.password === undefined
      ? `the generated key Secret ${safeholdNamespace}/${generatedKeyName(repo.metadata.name, tenant)} (key password)`
      : ref('spec.password', repo.spec.password);
  return {
    repository: name,
    password,
    s3Keys: `${ref('spec.s3.accessKeyId', repo.spec.s3.accessKeyId)} and ${ref('spec.s3.secretAccessKey', repo.spec.s3.secretAccessKey)}`,
  };
}

/** The mover's environment as Secret data (base64), or what is missing, naming the Secret and the repository. */
export async function repositoryCredentials(
  client: KubeClient,
  safeholdNamespace: string,
  repo: BackupRepository,
  tenant: string,
  /** Generate the tenant's key when it has none: only for a backup, which may create the repository. */
  createKey = true,
): Promise<{ data: SecretData } | { missing: string }> {
  const data: SecretData = {};
  const refs = [
    ['AWS_ACCESS_KEY_ID', repo.spec.s3.accessKeyId],
    ['AWS_SECRET_ACCESS_KEY', repo.spec.s3.secretAccessKey],
    ...(repo.spec.password === undefined ? [] : ([['RESTIC_PASSWORD', repo.spec.password]] as const)),
  ] as const;
  for (const [name, ref] of refs) {
    try {
      const secret = await client.get<{ data?: SecretData }>(kinds.secret, {
        namespace: ref.namespace,
        name: ref.name,
      });
      const value = secret.data?.[ref.key];
      if (value === undefined)
        return {
          missing: `Secret ${ref.namespace}/${ref.name} has no key "${ref.key}" (BackupRepository ${repo.metadata.name})`,
        };
      data[name] = value;
    } catch (error) {
      const problem = secretProblem(error, ref, `BackupRepository ${repo.metadata.name}`);
      if (problem === undefined) throw error;
      return { missing: problem };
    }
  }
  if (repo.spec.password === undefined) {
    const password = await generatedPassword(client, safeholdNamespace, repo.metadata.name, tenant, createKey);
    if (password === undefined)
      return {
        missing: `Secret ${safeholdNamespace}/${generatedKeyName(repo.metadata.name, tenant)} (the repository key of BackupRepository ${repo.metadata.name}${tenant === '' ? '' : ` for namespace ${tenant}`}) not found: nothing was ever backed up there, or the key was lost`,
      };
    data.RESTIC_PASSWORD = password;
  }
  return { data };
}

/** The generated password (base64) of one repository's tenant, created on first use; the first writer wins a race. */
async function generatedPassword(
  client: KubeClient,
  namespace: string,
  repository: string,
  tenant: string,
  create: boolean,
): Promise<string | undefined> {
  const name = generatedKeyName(repository, tenant);
  const read = async () => (await client.get<{ data?: SecretData }>(kinds.secret, { namespace, name })).data?.password;
  try {
    const existing = await read();
    if (existing !== undefined) return existing;
    throw new Error(`Secret ${namespace}/${name} holds no "password": refusing to replace a repository key`);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  if (!create) return undefined;
  const password = Buffer.from(randomBytes(32).toString('base64url')).toString('base64');
  await ignoreAlreadyExists(() =>
    client.create(kinds.secret, {
      metadata: {
        name,
        namespace,
        labels: { [repositoryLabel]: repository.slice(0, 63), [tenantLabel]: tenant.slice(0, 63) },
        annotations: {
          'safehold.io/description': `restic password of BackupRepository ${repository}${tenant === '' ? '' : ` for namespace ${tenant}`}; without it the backups cannot be read`,
        },
      },
      type: 'Opaque',
      data: { password },
    } as never),
  );
  const stored = await read();
  if (stored === undefined) throw new Error(`Secret ${namespace}/${name} holds no "password"`);
  return stored;
}

/** The Ceph user's key a block backup's `rbd diff` needs, as Secret data; nothing when the repository has no Ceph access. */
export async function cephKeyData(
  client: KubeClient,
  repo: BackupRepository,
): Promise<{ data: SecretData } | { missing: string }> {
  const ref = repo.spec.ceph?.key;
  if (ref === undefined) return { data: {} };
  try {
    const secret = await client.get<{ data?: SecretData }>(kinds.secret, { namespace: ref.namespace, name: ref.name });
    const value = secret.data?.[ref.key];
    if (value === undefined)
      return {
        missing: `Secret ${ref.namespace}/${ref.name} has no key "${ref.key}" (BackupRepository ${repo.metadata.name} spec.ceph.key)`,
      };
    return { data: { CEPH_USER_KEY: value } };
  } catch (error) {
    const problem = secretProblem(error, ref, `BackupRepository ${repo.metadata.name} spec.ceph.key`);
    if (problem === undefined) throw error;
    return { missing: problem };
  }
}

/** What to tell the user when a Secret a repository names cannot be read; undefined for other errors. */
export function secretProblem(
  error: unknown,
  ref: { namespace: string; name: string },
  where: string,
): string | undefined {
  if (isNotFound(error)) return `Secret ${ref.namespace}/${ref.name} not found (${where})`;
  // The chart grants Secrets only in Safehold's own namespace: say so rather than fail obscurely.
  if (isForbidden(error))
    return `Safehold may not read Secret ${ref.namespace}/${ref.name} (${where}): it reads Secrets only in its own namespace; keep the repository's Secrets there`;
  return undefined;
}

/** Creates a run's own copy of the credentials in Safehold's namespace (idempotent). */
export async function createCredentialsSecret(
  client: KubeClient,
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
  },
  data: SecretData,
): Promise<void> {
  await ignoreAlreadyExists(() => client.create(kinds.secret, { metadata, type: 'Opaque', data } as never));
}
