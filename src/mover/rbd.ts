// `rbd diff` for a block backup: which extents of an RBD snapshot hold data,
// or changed since an older snapshot of the same image. The mover reaches
// Ceph with the monitors and user of the task and the key from its Secret,
// through a ceph.conf and keyring of its own in a temporary folder.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CephAccess, RbdSnapshotRef } from '../api/index.ts';
import type { ByteExtent } from '../core/cluster-map.ts';
import { parseRbdDiff } from '../core/rbd-diff.ts';

const run = promisify(execFile);

export type RbdAnswer<T> = { ok: true; value: T } | { ok: false; message: string };

export interface Rbd {
  /** Extents of `snapshot` holding data; with `fromSnapshot`, only those changed since it. */
  diff(snapshot: RbdSnapshotRef, fromSnapshot?: string): Promise<RbdAnswer<ByteExtent[]>>;
  /** Names of the image's snapshots. */
  snapshots(snapshot: RbdSnapshotRef): Promise<RbdAnswer<string[]>>;
  close(): Promise<void>;
}

export function imageSpec(ref: RbdSnapshotRef): string {
  return [ref.pool, ref.radosNamespace, ref.image].filter((part) => part !== undefined).join('/');
}

export async function connectRbd(access: CephAccess, key: string | undefined, tempDir: string): Promise<Rbd> {
  const dir = await mkdtemp(join(tempDir, 'ceph-'));
  const conf = join(dir, 'ceph.conf');
  const keyring = join(dir, 'keyring');
  const lines = [
    '[global]',
    `mon host = ${access.monitors.join(',')}`,
    `admin socket = ${join(dir, '$name.asok')}`,
    `log file = ${join(dir, '$name.log')}`,
  ];
  if (key !== undefined && key !== '') {
    await writeFile(keyring, `[client.${access.user}]\n\tkey = ${key}\n`, { mode: 0o600 });
    lines.push(`keyring = ${keyring}`);
  }
  await writeFile(conf, `${lines.join('\n')}\n`);
  const rbd = async (args: string[]): Promise<RbdAnswer<string>> => {
    try {
      const { stdout } = await run('rbd', ['--conf', conf, '--id', access.user, ...args], {
        timeout: 10 * 60_000,
        maxBuffer: 512 * 2 ** 20,
      });
      return { ok: true, value: stdout };
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      return {
        ok: false,
        message: `rbd ${args.join(' ')}: ${stderr || (error instanceof Error ? error.message : String(error))}`,
      };
    }
  };
  return {
    async diff(snapshot, fromSnapshot) {
      const from = fromSnapshot === undefined ? [] : ['--from-snap', fromSnapshot];
      const answer = await rbd(['diff', '--format', 'json', ...from, `${imageSpec(snapshot)}@${snapshot.snapshot}`]);
      if (!answer.ok) return answer;
      const parsed = parseRbdDiff(answer.value);
      return parsed.ok ? { ok: true, value: parsed.extents } : { ok: false, message: parsed.error };
    },
    async snapshots(snapshot) {
      const answer = await rbd(['snap', 'ls', '--format', 'json', imageSpec(snapshot)]);
      if (!answer.ok) return answer;
      try {
        const list = JSON.parse(answer.value) as { name?: unknown }[];
        return { ok: true, value: list.flatMap((s) => (typeof s.name === 'string' ? [s.name] : [])) };
      } catch (error) {
        return { ok: false, message: `rbd snap ls printed no JSON: ${String(error)}` };
      }
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
