// A bucket dump's credentials (ApplicationDump spec.bucket.secretRef): the S3
// keys of a user that may list and read the bucket, read from a Secret in the
// dump's namespace and given to the mover only through its run's Secret.
import { moverEnv, type DumpRun, type ParsedApplicationDumpSpec } from '../../api/index.ts';
import { isNotFound, kinds, type KubeObject } from '../../kube/index.ts';
import type { DumpDeps } from './dump-kind.ts';

export type BucketSource = NonNullable<ParsedApplicationDumpSpec['bucket']>;

/** The reader's keys as the mover's environment, or what is missing, naming the Secret and the dump's field. */
export async function bucketCredentials(
  deps: DumpDeps,
  run: DumpRun,
  bucket: BucketSource,
): Promise<{ data: Record<string, string> } | { missing: string }> {
  const ns = run.metadata.namespace;
  const where = `Secret ${ns}/${bucket.secretRef.name} (ApplicationDump ${ns}/${run.spec.dump} spec.bucket.secretRef)`;
  const secret = await deps.client
    .get<KubeObject & { data?: Record<string, string> }>(kinds.secret, { namespace: ns, name: bucket.secretRef.name })
    .catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
  if (secret === undefined) return { missing: `${where} not found` };
  const { accessKeyId, secretAccessKey } = secret.data ?? {};
  const lacking = [
    accessKeyId === undefined ? 'accessKeyId' : [],
    secretAccessKey === undefined ? 'secretAccessKey' : [],
  ].flat();
  if (lacking.length > 0) return { missing: `${where} has no ${lacking.join(' and no ')}` };
  return {
    data: { [moverEnv.bucketAccessKeyId]: accessKeyId ?? '', [moverEnv.bucketSecretAccessKey]: secretAccessKey ?? '' },
  };
}
