// A BucketRestore's writer (spec.secretRef): the S3 keys of a user that may
// write the target bucket, read from a Secret in the restore's namespace and
// given to the mover only through the run's own Secret in Safehold's namespace.
import { moverEnv, type BucketRestore } from '../../api/index.ts';
import { kinds, type KubeClient } from '../../kube/index.ts';
import { secretProblem } from '../run/repository-credentials.ts';

/** The writer's keys as the mover's environment (base64), or what is wrong, naming the Secret and the field. */
export async function writerSecret(
  client: KubeClient,
  restore: BucketRestore,
): Promise<{ data: Record<string, string> } | { missing: string }> {
  const ns = restore.metadata.namespace;
  const ref = { namespace: ns, name: restore.spec.secretRef.name };
  const field = `BucketRestore ${ns}/${restore.metadata.name} spec.secretRef`;
  let data: Record<string, string> | undefined;
  try {
    data = (await client.get<{ data?: Record<string, string> }>(kinds.secret, ref)).data ?? {};
  } catch (error) {
    const problem = secretProblem(error, ref, field);
    if (problem === undefined) throw error;
    return { missing: problem };
  }
  const { accessKeyId, secretAccessKey } = data;
  const lacking = [
    ...(accessKeyId === undefined ? ['accessKeyId'] : []),
    ...(secretAccessKey === undefined ? ['secretAccessKey'] : []),
  ];
  if (accessKeyId === undefined || secretAccessKey === undefined)
    return { missing: `Secret ${ns}/${ref.name} (${field}) has no key ${lacking.join(' and no key ')}` };
  return {
    data: { [moverEnv.bucketAccessKeyId]: accessKeyId, [moverEnv.bucketSecretAccessKey]: secretAccessKey },
  };
}
