// Benchmark for issue 16 point 1: what a second backup of the 2 GiB tree costs
// after 1% of its files changed, with restic's full change check (the default)
// and with size-and-mtime only (a policy's opt-in), where the data keeps its
// inode numbers and ctimes (an RBD clone, a CephFS .snap snapshot, the live
// volume) and where a snapshot's clone is a file-by-file copy (the directory
// test driver, a CephFS CSI snapshot clone). Each backup runs Safehold's
// mover from the build, after dropping the page cache, so every read is cold.
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MoverResult } from '../src/api/index.ts';
import { run } from '../testenv/command.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { makeTree } from './backup-2g.ts';
import { timedMover } from './mover-run.ts';

export interface SecondBackup {
  seconds: number;
  filesChanged: number;
  filesUnmodified: number;
  bytesAdded: number;
}

export interface ChangeDetectionBenchResult {
  files: number;
  changedPerStep: number;
  firstBackupSeconds: number;
  keptInodesFull: SecondBackup;
  copiedCloneFull: SecondBackup;
  copiedCloneMtimeSize: SecondBackup;
}

export async function benchChangeDetection(
  env: TestEnvironment,
  log: (line: string) => void,
): Promise<ChangeDetectionBenchResult> {
  const scratch = join(env.dir, 'bench-change-detection');
  const tree = join(scratch, 'tree');
  const { files } = makeTree(tree);
  const s3 = env.ceph.s3;
  const credentials = {
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
    RESTIC_PASSWORD: 'bench-password',
  };
  const url = `s3:${s3.endpoint}/bench-detection-${Date.now()}`;
  const backup = async (changeDetection: 'inode' | 'mtime-size'): Promise<SecondBackup> => {
    await run('sync', []);
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    const task = {
      kind: 'backup',
      repository: { url, initialize: true },
      sourcePath: tree,
      host: 'bench',
      tags: ['bench'],
      cacheDir: join(scratch, 'cache'),
      changeDetection,
    };
    const { seconds, result } = await timedMover(env, task, { credentials, scratch });
    return { seconds, ...summaryOf(result) };
  };
  // 1% of the files, a different 1% each time, rewritten with new data of the same size.
  const changedPerStep = Math.round(files / 100);
  let step = 0;
  const changeOnePercent = () => {
    for (let i = 0; i < changedPerStep; i++) {
      const n = step * changedPerStep + i;
      writeFileSync(join(tree, 'small', `d${n % 64}`, `f${Math.floor(n / 64) % 320}.dat`), randomBytes(25 * 1024));
    }
    step++;
  };
  // A clone that is a copy: the same content and mtimes at the same path, new inode numbers and ctimes.
  const copyInPlace = async () => {
    renameSync(tree, `${tree}.orig`);
    await run('cp', ['-a', `${tree}.orig`, tree], { timeoutMs: 1_800_000 });
    rmSync(`${tree}.orig`, { recursive: true, force: true });
  };

  const first = await backup('inode');
  log(`first backup: ${first.seconds.toFixed(1)} s`);
  changeOnePercent();
  const keptInodesFull = await backup('inode');
  log(`inodes kept, full check: ${keptInodesFull.seconds.toFixed(1)} s`);
  changeOnePercent();
  await copyInPlace();
  const copiedCloneFull = await backup('inode');
  log(`copied clone, full check: ${copiedCloneFull.seconds.toFixed(1)} s`);
  changeOnePercent();
  await copyInPlace();
  const copiedCloneMtimeSize = await backup('mtime-size');
  log(`copied clone, size and mtime only: ${copiedCloneMtimeSize.seconds.toFixed(1)} s`);
  rmSync(scratch, { recursive: true, force: true });
  return {
    files,
    changedPerStep,
    firstBackupSeconds: first.seconds,
    keptInodesFull,
    copiedCloneFull,
    copiedCloneMtimeSize,
  };
}

function summaryOf(result: MoverResult) {
  if (result.type !== 'summary') throw new Error(`the mover returned ${JSON.stringify(result)}`);
  return { filesChanged: result.filesChanged, filesUnmodified: result.filesUnmodified, bytesAdded: result.bytesAdded };
}
