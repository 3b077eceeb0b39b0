// Restore drill benchmark: the 2 GiB tree of bench/backup-2g.ts backed up once
// into a fresh repository on radosgw, then restored by plain `restic restore`
// and drilled by Safehold's mover (the restore task with verify: restic's
// restore --verify, then the restored tree counted against the backup's
// summary), each into a fresh empty folder, alternating, sharing the restic
// cache the backup filled; each side counts its better run. From the measured
// drill, the load a fleet-wide schedule puts on a repository per day.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { run } from '../testenv/command.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { timedMover } from './mover-run.ts';
import { backedUpTree, timed } from './restore-fixture.ts';

export interface DrillBenchResult {
  treeBytes: number;
  files: number;
  /** What the repository stores for the tree (restic stats --mode raw-data): what a drill reads from it. */
  storedBytes: number;
  plainResticSeconds: number;
  drillSeconds: number;
  ratio: number;
  runs: { plainResticSeconds: number[]; drillSeconds: number[] };
  verified: unknown;
  /** A fleet of volumes like this one, each proven once per window. */
  fleet: {
    volumes: number;
    windowDays: number;
    drillsPerDay: number;
    moverHoursPerDay: number;
    bytesReadPerDay: number;
  };
  method: string;
}

const rounds = 2;

export async function benchDrill(env: TestEnvironment, log: (line: string) => void): Promise<DrillBenchResult> {
  const { scratch, tree, made, url, cacheDir, credentials, resticEnv, snapshotId, freshFolder } = await backedUpTree(
    env,
    'bench-drill',
    log,
  );
  const stats = await run(env.tools.restic, ['stats', '--json', '--mode', 'raw-data'], { env: resticEnv });
  const storedBytes = (JSON.parse(stats.stdout) as { total_size: number }).total_size;
  log(`the repository stores ${storedBytes} bytes`);

  const plain = async () => {
    const target = freshFolder();
    const seconds = await timed(() =>
      run(env.tools.restic, ['restore', snapshotId, '--target', target], { env: resticEnv, timeoutMs: 1_800_000 }),
    );
    rmSync(dirname(target), { recursive: true, force: true });
    return seconds;
  };
  let verified: unknown;
  const drill = async () => {
    const target = freshFolder();
    const task = {
      kind: 'restore',
      repository: { url, initialize: false },
      cacheDir,
      source: { snapshotId, snapshotPath: tree },
      targetPath: target,
      verify: true,
    };
    const { seconds, result } = await timedMover(env, task, { credentials, scratch });
    if (result.type !== 'restored' || result.verified === undefined || result.verified.bytes !== made.bytes)
      throw new Error(`the mover did not drill the tree: ${JSON.stringify(result)}`);
    verified = result.verified;
    rmSync(dirname(target), { recursive: true, force: true });
    return seconds;
  };

  const runs = { plainResticSeconds: [] as number[], drillSeconds: [] as number[] };
  for (let round = 1; round <= rounds; round++) {
    runs.plainResticSeconds.push(await plain());
    log(`round ${round}: plain restic restore ${runs.plainResticSeconds.at(-1)?.toFixed(1)} s`);
    runs.drillSeconds.push(await drill());
    log(`round ${round}: safehold drill ${runs.drillSeconds.at(-1)?.toFixed(1)} s`);
  }
  rmSync(scratch, { recursive: true, force: true });
  const plainResticSeconds = Math.min(...runs.plainResticSeconds);
  const drillSeconds = Math.min(...runs.drillSeconds);
  const volumes = 1000;
  const windowDays = 30;
  const drillsPerDay = volumes / windowDays;
  return {
    treeBytes: made.bytes,
    files: made.files,
    storedBytes,
    plainResticSeconds,
    drillSeconds,
    ratio: drillSeconds / plainResticSeconds,
    runs,
    verified,
    fleet: {
      volumes,
      windowDays,
      drillsPerDay,
      moverHoursPerDay: (drillsPerDay * drillSeconds) / 3600,
      bytesReadPerDay: drillsPerDay * storedBytes,
    },
    method: `${rounds} rounds of plain \`restic restore <id> --target\` then the mover's restore task with verify (restore --verify, then the tree counted), each into a fresh empty folder, sharing the restic cache the backup filled; the better run of each. The fleet: ${volumes} volumes like this one, each proven once per ${windowDays} days, the drill's measured time and the repository's stored bytes per drill`,
  };
}
