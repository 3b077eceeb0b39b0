// The engines the engines benchmark sets side by side, each with a fresh
// bucket of the test radosgw per tree, its own cache folder, and its own
// defaults: plain restic, kopia, and Safehold's mover (restic underneath, run
// as a mover Job's container runs it), once as shipped and once with the
// repository's verifyBeforeUpload off (kopia does not check before upload). Each step is timed and its peak
// memory measured (process-usage.ts).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../testenv/command.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { tools, versions } from '../testenv/paths.ts';
import { inSequence, measure, measureMover, type Measured } from './process-usage.ts';
import { removeBuckets } from '../testenv/ceph/ceph-health.ts';
import { bucketBytes, createBucket } from './s3-buckets.ts';

export const engineNames = ['restic', 'kopia', 'safehold', 'safehold-unverified'] as const;
export type EngineName = (typeof engineNames)[number];

export const engineLabels: Record<EngineName, string> = {
  restic: `restic ${versions.restic}`,
  kopia: `kopia ${versions.kopia}`,
  safehold: `safehold mover (restic ${versions.restic})`,
  'safehold-unverified': 'safehold mover, verifyBeforeUpload false',
};

export interface Engine {
  name: EngineName;
  bucket: string;
  /** Creates the repository in the fresh bucket, then backs the tree up. */
  firstBackup: () => Promise<Measured>;
  /** Backs the tree up again, as it is now. */
  backup: () => Promise<Measured>;
  /** Restores the newest backup into an empty folder. */
  restore: (target: string) => Promise<Measured>;
  /** The bucket's stored bytes. */
  storedBytes: () => Promise<number>;
  remove: () => Promise<void>;
}

interface Place {
  env: TestEnvironment;
  tree: string;
  /** A folder of the engine's own for caches, logs and configuration. */
  scratch: string;
  bucket: string;
}

const password = 'bench-password';

export function makeEngine(name: EngineName, env: TestEnvironment, tree: string, scratch: string, bucket: string) {
  const place = { env, tree, scratch: join(scratch, name), bucket };
  mkdirSync(place.scratch, { recursive: true });
  const engine = {
    restic: plainRestic,
    kopia,
    safehold: (at: Place) => mover(at, true),
    'safehold-unverified': (at: Place) => mover(at, false),
  }[name](place);
  const confPath = env.ceph.confPath;
  return {
    ...engine,
    name,
    bucket,
    storedBytes: () => bucketBytes(confPath, bucket),
    remove: () => removeBuckets(confPath, [bucket]),
  } satisfies Engine;
}

type Steps = Pick<Engine, 'firstBackup' | 'backup' | 'restore'>;

function credentials(env: TestEnvironment) {
  return { AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey, AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey };
}

function plainRestic({ env, tree, scratch, bucket }: Place): Steps {
  const options = {
    scratch,
    env: {
      ...process.env,
      ...credentials(env),
      RESTIC_PASSWORD: password,
      RESTIC_REPOSITORY: `s3:${env.ceph.s3.endpoint}/${bucket}`,
      RESTIC_CACHE_DIR: join(scratch, 'cache'),
    },
  };
  let snapshotId = '';
  const backup = async () => {
    const { usage, output } = await measure(env.tools.restic, ['backup', '--json', '--host', 'bench', tree], options);
    snapshotId = /"snapshot_id":"([0-9a-f]{64})"/.exec(output.stdout)?.[1] ?? '';
    if (snapshotId === '') throw new Error('restic backup printed no snapshot id');
    return usage;
  };
  return {
    firstBackup: async () => inSequence((await measure(env.tools.restic, ['init'], options)).usage, await backup()),
    backup,
    restore: async (target) =>
      (await measure(env.tools.restic, ['restore', `${snapshotId}:${tree}`, '--target', target], options)).usage,
  };
}

function kopia({ env, tree, scratch, bucket }: Place): Steps {
  const s3 = env.ceph.s3;
  const endpoint = new URL(s3.endpoint);
  const global = ['--config-file', join(scratch, 'repository.config'), '--log-dir', join(scratch, 'logs')];
  const options = {
    scratch,
    env: { ...process.env, KOPIA_PASSWORD: password, KOPIA_CHECK_FOR_UPDATES: 'false' },
  };
  const kopiaRun = async (args: string[]) => (await measure(tools.kopia, [...args, ...global], options)).usage;
  const backup = () => kopiaRun(['snapshot', 'create', tree, '--no-progress']);
  return {
    firstBackup: async () => {
      await createBucket(s3, bucket);
      const create = await kopiaRun([
        'repository',
        'create',
        's3',
        `--bucket=${bucket}`,
        `--endpoint=${endpoint.host}`,
        ...(endpoint.protocol === 'http:' ? ['--disable-tls'] : []),
        `--access-key=${s3.accessKey}`,
        `--secret-access-key=${s3.secretKey}`,
        `--region=${s3.region}`,
        `--cache-directory=${join(scratch, 'cache')}`,
      ]);
      return inSequence(create, await backup());
    },
    backup,
    restore: async (target) => {
      const listed = await run(tools.kopia, ['snapshot', 'list', tree, '--json', ...global], options);
      const newest = (JSON.parse(listed.stdout) as { id: string }[]).at(-1);
      if (newest === undefined) throw new Error(`kopia lists no snapshot of ${tree}`);
      return kopiaRun(['snapshot', 'restore', newest.id, target, '--no-progress']);
    },
  };
}

/** The mover with the repository's defaults, or with its check before upload turned off (as kopia runs). */
function mover({ env, tree, scratch, bucket }: Place, verifyBeforeUpload: boolean): Steps {
  const repository = { url: `s3:${env.ceph.s3.endpoint}/${bucket}` };
  const cacheDir = join(scratch, 'cache');
  const options = { credentials: { ...credentials(env), RESTIC_PASSWORD: password }, scratch };
  let snapshotId = '';
  const backup = async () => {
    const task = {
      kind: 'backup',
      repository: { ...repository, initialize: true },
      sourcePath: tree,
      host: 'bench',
      tags: ['bench'],
      cacheDir,
      changeDetection: 'inode',
      verifyBeforeUpload,
    };
    const { result, usage } = await measureMover(env, task, options);
    if (result.type !== 'summary') throw new Error(`the mover did not back up: ${JSON.stringify(result)}`);
    snapshotId = result.snapshotId;
    return usage;
  };
  return {
    firstBackup: backup,
    backup,
    restore: async (targetPath) => {
      const task = {
        kind: 'restore',
        repository: { ...repository, initialize: false },
        cacheDir,
        source: { snapshotId, snapshotPath: tree },
        targetPath,
      };
      const { result, usage } = await measureMover(env, task, options);
      if (result.type !== 'restored') throw new Error(`the mover did not restore: ${JSON.stringify(result)}`);
      return usage;
    },
  };
}
