// Block benchmark (issue 7): a 16 GiB RBD image with 256 MiB written at
// scattered offsets, read through rbd-fuse as the mover reads a device.
//   - the block mover with `rbd diff` extents: time, bytes read, bytes stored;
//   - a full read of the device: the block mover with a zero scan (what a
//     backup without an allocation map costs), and `dd` of the whole device;
//   - a dense 256 MiB file backed up by the file mover: the aim is the rbd-diff
//     backup within 1.5x of it;
//   - an incremental after changing 1% of what is written (rbd diff --from-snap,
//     a QCOW2 overlay) vs the full backup: the aim is under 10%.
// Each backup goes into a fresh repository, so dedup against earlier runs never helps.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackupSummary } from '../src/api/index.ts';
import { run } from '../testenv/command.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { RbdImageFiles } from '../testenv/storage/rbd-image-files.ts';
import { timedMover } from './mover-run.ts';
import { randomBytes, scatteredWrites, writeRandom } from '../test/support/block-image.ts';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

export interface BlockBenchResult {
  volumeBytes: number;
  writtenBytes: number;
  rbdDiff: Run;
  zeroScan: Run;
  ddFullReadSeconds: number;
  dense: Run;
  incremental: Run & { changedBytes: number };
  ratios: {
    rbdDiffVsDense: number;
    incrementalVsFullSeconds: number;
    incrementalVsFullBytesRead: number;
    incrementalVsFullBytesAdded: number;
  };
}

interface Run {
  seconds: number;
  bytesRead: number;
  bytesAdded: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return [Number(process.hrtime.bigint() - started) / 1e9, value];
}

export async function benchBlock(env: TestEnvironment, log: (line: string) => void): Promise<BlockBenchResult> {
  const scratch = join(env.dir, 'bench-block');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const pool = env.cephStorage.rbd.pool;
  const image = `bench-block-${Date.now()}`;
  const cephEnv = { ...process.env, CEPH_CONF: env.ceph.confPath };
  const rbd = (args: string[]) => run('rbd', args, { env: cephEnv, timeoutMs: 600_000 });
  const files = new RbdImageFiles(join(scratch, 'fuse'), env.ceph.confPath, pool);
  const s3 = env.ceph.s3;
  const credentials = {
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
    RESTIC_PASSWORD: 'bench-block-password',
  };
  let repositories = 0;
  const freshRepository = () => `s3:${s3.endpoint}/bench-block-${Date.now()}-${++repositories}`;
  const mover = async (task: Record<string, unknown>, url = freshRepository()): Promise<[number, BackupSummary]> => {
    const full = {
      ...task,
      repository: { url },
      host: 'bench',
      tags: [],
      cacheDir: join(scratch, `cache-${repositories}`),
    };
    const { seconds, result } = await timedMover(env, full, { credentials, scratch, extraEnv: { TMPDIR: scratch } });
    if (result.type !== 'summary') throw new Error(`the mover did not back up: ${JSON.stringify(result)}`);
    return [seconds, result];
  };
  const ceph = { monitors: [env.ceph.monHost], user: 'admin' };
  const blockTask = (device: string, extents: object, parent?: string) => ({
    kind: 'block-backup',
    devicePath: device,
    fileName: 'disk.qcow2',
    extents,
    ...(parent === undefined ? {} : { parent }),
  });

  await rbd(['create', '--size', String((16 * GiB) / MiB), '--image-feature', 'layering', `${pool}/${image}`]);
  try {
    const device = await files.ensure(image);
    const writes = scatteredWrites(16 * GiB, 64, 16).map((w) => ({
      offset: w.offset - (w.offset % MiB),
      length: 4 * MiB,
    }));
    const written = await writeRandom(device, writes, 16);
    await rbd(['snap', 'create', `${pool}/${image}@one`]);
    log(`16 GiB image ${image}: ${written / MiB} MiB written in ${writes.length} places`);

    const rbdRepository = freshRepository();
    const [rbdSeconds, rbdSummary] = await mover(
      blockTask(device, { source: 'rbd-diff', ceph, snapshot: { pool, image, snapshot: 'one' } }),
      rbdRepository,
    );
    log(`rbd diff backup: ${rbdSeconds.toFixed(1)} s, ${(rbdSummary.block?.bytesRead ?? 0) / MiB} MiB read`);
    const [scanSeconds, scanSummary] = await mover(blockTask(device, { source: 'zero-scan' }));
    log(
      `zero-scan backup: ${scanSeconds.toFixed(1)} s, ${((scanSummary.block?.bytesRead ?? 0) / GiB).toFixed(2)} GiB read`,
    );
    const [ddSeconds] = await timed(() =>
      run('dd', [`if=${device}`, 'of=/dev/null', 'bs=4M', 'status=none'], { timeoutMs: 1_800_000 }),
    );
    log(`dd of the whole device: ${ddSeconds.toFixed(1)} s`);

    const denseDir = join(scratch, 'dense');
    mkdirSync(denseDir);
    writeFileSync(join(denseDir, 'data.bin'), randomBytes(written, 17));
    const [denseSeconds, denseSummary] = await mover({ kind: 'backup', sourcePath: denseDir });
    log(`dense ${written / MiB} MiB file backup: ${denseSeconds.toFixed(1)} s`);

    // 1% of what is written changes, in a few places; the incremental goes into the full backup's repository.
    const changes = writes
      .slice(0, 4)
      .map((w, i) => ({ offset: w.offset + i * 65536, length: Math.round(written / 100 / 4 / 4096) * 4096 }));
    const changed = await writeRandom(device, changes, 18);
    await rbd(['snap', 'create', `${pool}/${image}@two`]);
    const incrementalTask = {
      ...blockTask(
        device,
        { source: 'rbd-diff', ceph, snapshot: { pool, image, snapshot: 'two' }, fromSnapshot: 'one' },
        rbdSummary.snapshotId,
      ),
    };
    const [incSeconds, incSummary] = await mover(incrementalTask, rbdRepository);
    log(
      `incremental after changing ${(changed / MiB).toFixed(2)} MiB: ${incSeconds.toFixed(1)} s, ${((incSummary.block?.bytesRead ?? 0) / MiB).toFixed(1)} MiB read`,
    );
    const runOf = (seconds: number, s: BackupSummary): Run => ({
      seconds,
      bytesRead: s.block?.bytesRead ?? s.bytesProcessed,
      bytesAdded: s.bytesAdded,
    });
    const rbdDiff = runOf(rbdSeconds, rbdSummary);
    const incremental = { ...runOf(incSeconds, incSummary), changedBytes: changed };
    if (incSummary.block?.parent !== rbdSummary.snapshotId)
      throw new Error(`the incremental is not an overlay: ${JSON.stringify(incSummary.block)}`);
    return {
      volumeBytes: 16 * GiB,
      writtenBytes: written,
      rbdDiff,
      zeroScan: runOf(scanSeconds, scanSummary),
      ddFullReadSeconds: ddSeconds,
      dense: runOf(denseSeconds, denseSummary),
      incremental,
      ratios: {
        rbdDiffVsDense: rbdSeconds / denseSeconds,
        incrementalVsFullSeconds: incSeconds / rbdSeconds,
        incrementalVsFullBytesRead: incremental.bytesRead / rbdDiff.bytesRead,
        incrementalVsFullBytesAdded: incremental.bytesAdded / rbdDiff.bytesAdded,
      },
    };
  } finally {
    await files.stop(image).catch(() => undefined);
    await rbd(['snap', 'purge', `${pool}/${image}`]).catch(() => undefined);
    await rbd(['rm', `${pool}/${image}`]).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}
