// A restic repository's objects in the environment's S3, reached with URLs
// presigned by the environment's keys: listed with their sizes, and one
// damaged in place (bytes overwritten in its middle), as a failing disk or a
// bad copy leaves an object, with its name and size unchanged.
import { presignS3, s3ObjectLocation, type PresignRequest } from '../../src/core/index.ts';
import { testEnv } from './cluster.ts';

export interface StoredObject {
  key: string;
  size: number;
}

function signed(url: string, request: Pick<PresignRequest, 'method' | 'key' | 'list'>): string {
  const parsed = s3ObjectLocation(url);
  if (!parsed.ok) throw new Error(parsed.error);
  const { s3 } = testEnv().ceph;
  return presignS3({
    ...request,
    endpoint: parsed.location.endpoint,
    bucket: parsed.location.bucket,
    region: s3.region,
    accessKeyId: s3.accessKey,
    secretAccessKey: s3.secretKey,
    expiresSeconds: 300,
    now: new Date(),
  });
}

/** The objects under `<repository>/<folder>/` (at most 1000), with their sizes. */
export async function repositoryObjects(url: string, folder: string): Promise<StoredObject[]> {
  const parsed = s3ObjectLocation(url);
  if (!parsed.ok) throw new Error(parsed.error);
  const prefix = `${parsed.location.prefix === '' ? '' : `${parsed.location.prefix}/`}${folder}/`;
  const response = await fetch(signed(url, { method: 'GET', key: '', list: { prefix, maxKeys: 1000 } }));
  const body = await response.text();
  if (!response.ok) throw new Error(`listing ${prefix}: HTTP ${response.status}: ${body}`);
  return [...body.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].map(([, entry = '']) => ({
    key: /<Key>([^<]*)<\/Key>/.exec(entry)?.[1] ?? '',
    size: Number(/<Size>(\d+)<\/Size>/.exec(entry)?.[1] ?? 'NaN'),
  }));
}

/** Overwrites `bytes` in the middle of the object; returns the offset they went to. */
export async function damageObject(url: string, key: string, bytes: Buffer): Promise<number> {
  const got = await fetch(signed(url, { method: 'GET', key }));
  if (!got.ok) throw new Error(`reading ${key}: HTTP ${got.status}`);
  const content = Buffer.from(await got.arrayBuffer());
  const offset = Math.floor((content.length - bytes.length) / 2);
  bytes.copy(content, offset);
  const put = await fetch(signed(url, { method: 'PUT', key }), {
    method: 'PUT',
    body: content,
    headers: { 'Content-Length': String(content.length) },
  });
  await put.body?.cancel();
  if (!put.ok) throw new Error(`writing ${key} back: HTTP ${put.status}`);
  return offset;
}
