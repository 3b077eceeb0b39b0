// The objects of an `s3:` restic repository, listed and removed with the
// mover's own S3 keys, for the one thing restic cannot do itself: clear the
// keys an interrupted `restic init` left behind (restic opens nothing without
// a config, and its init refuses a repository that has keys).
import { presignS3, s3ObjectLocation } from '../../core/index.ts';

export interface RepositoryObjects {
  /** The keys under `<repository>/<folder>/`, at most `limit`. */
  list: (folder: string, limit: number) => Promise<string[]>;
  remove: (key: string) => Promise<void>;
}

const signedSeconds = 300;

/** undefined when the repository is not on S3 or the mover has no S3 keys. */
export function s3RepositoryObjects(input: {
  url: string;
  region: string | undefined;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  now: () => Date;
}): RepositoryObjects | undefined {
  const parsed = s3ObjectLocation(input.url);
  const { accessKeyId, secretAccessKey } = input;
  if (!parsed.ok || accessKeyId === undefined || secretAccessKey === undefined) return undefined;
  const { endpoint, bucket, prefix } = parsed.location;
  const signing = {
    endpoint,
    bucket,
    accessKeyId,
    secretAccessKey,
    expiresSeconds: signedSeconds,
    ...(input.region === undefined ? {} : { region: input.region }),
  };
  const under = (folder: string) => `${prefix === '' ? '' : `${prefix}/`}${folder}/`;
  return {
    list: async (folder, limit) => {
      const url = presignS3({
        ...signing,
        now: input.now(),
        method: 'GET',
        key: '',
        list: { prefix: under(folder), maxKeys: limit },
      });
      const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      const body = await response.text();
      if (!response.ok) throw new Error(`listing ${under(folder)} in bucket ${bucket}: HTTP ${response.status}`);
      return [...body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unescapeXml(m[1] ?? ''));
    },
    remove: async (key) => {
      const url = presignS3({ ...signing, now: input.now(), method: 'DELETE', key });
      const response = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(30_000) });
      await response.body?.cancel();
      if (!response.ok && response.status !== 404) throw new Error(`deleting ${key}: HTTP ${response.status}`);
    },
  };
}

function unescapeXml(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}
