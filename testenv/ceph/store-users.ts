// radosgw users as an object store's admin makes them (radosgw-admin, with
// the keys given), for the journeys and the demo: made once, their caps added
// when asked (e.g. 'buckets=read;users=read' for an admin API reader).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface StoreUser {
  uid: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const run = promisify(execFile);

/** The user, made with keys derived from its uid unless it exists; then its caps added. */
export async function ensureStoreUser(conf: string, uid: string, caps?: string): Promise<StoreUser> {
  const user = {
    uid,
    accessKeyId: `${uid.toUpperCase().replace(/[^A-Z0-9]/g, '')}KEY`,
    secretAccessKey: `${uid}-secret`,
  };
  // One made before keeps its keys: they are read back.
  const info = await run('radosgw-admin', ['-c', conf, 'user', 'info', '--uid', uid]).then(
    ({ stdout }) => JSON.parse(stdout) as { keys?: { access_key: string; secret_key: string }[] },
    () => undefined,
  );
  const key = info?.keys?.[0];
  if (key !== undefined) Object.assign(user, { accessKeyId: key.access_key, secretAccessKey: key.secret_key });
  else
    await run('radosgw-admin', [
      '-c',
      conf,
      'user',
      'create',
      '--uid',
      uid,
      '--display-name',
      uid,
      '--access-key',
      user.accessKeyId,
      '--secret',
      user.secretAccessKey,
    ]);
  if (caps !== undefined) await run('radosgw-admin', ['-c', conf, 'caps', 'add', '--uid', uid, '--caps', caps]);
  return user;
}

export async function removeStoreUser(conf: string, uid: string): Promise<void> {
  await run('radosgw-admin', ['-c', conf, 'user', 'rm', '--uid', uid, '--purge-data']).catch(() => undefined);
}
