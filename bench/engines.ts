// Benchmark for issue 18: plain restic, kopia and Safehold's mover side by
// side, on three shapes of data (the 2 GiB mixed tree, 100,000 small files,
// one 2 GiB file with a tenth of its blocks changed between backups), each
// into a fresh bucket of the test radosgw: first backup, unchanged re-backup
// (and the changed one), restore into an empty folder, checked byte for byte
// against the source. The page cache is dropped before every step, and a cold
// read of each tree says what reading alone costs. Steps run engine after
// engine, one step at a time. kopia is built on first use (about 5 minutes).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { makeTree } from './backup-2g.ts';
import { run } from '../testenv/command.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { repoRoot, tools, versions } from '../testenv/paths.ts';
import { makeEngine, engineNames, type Engine, type EngineName } from './engine-peers.ts';
import {
  changeTenthOfBlocks,
  coldRead,
  dropCaches,
  makeLargeFileTree,
  makeSmallFilesTree,
  treeDigest,
  type TreeSize,
} from './engine-trees.ts';
import type { Measured } from './process-usage.ts';

export const treeNames = ['mixed', 'small-files', 'large-file'] as const;
export type TreeName = (typeof treeNames)[number];

export const treeTitles: Record<TreeName, string> = {
  mixed: '2 GiB mixed tree (6 x 256 MiB and 20,480 x 25 KiB)',
  'small-files': '100,000 small files (1 to 8 KiB)',
  'large-file': 'one 2 GiB file, a tenth of its 1 MiB blocks changed before the third backup',
};

const makers: Record<TreeName, (dir: string) => TreeSize> = {
  mixed: makeTree,
  'small-files': makeSmallFilesTree,
  'large-file': makeLargeFileTree,
};

export interface EngineSteps {
  backup: Measured & { storedMiB: number };
  rebackup: Measured & { storedMiB: number };
  /** The large file only: the backup after a tenth of its blocks changed. */
  changedRebackup?: Measured & { storedMiB: number };
  /** Checked: the restored tree's paths, sizes and bytes are the source's. */
  restore: Measured;
}

export interface TreeResult {
  tree: TreeName;
  files: number;
  bytes: number;
  coldReadSeconds: number;
  changed?: { blocks: number; bytes: number };
  engines: Record<EngineName, EngineSteps>;
}

export interface EnginesBenchResult {
  kopiaVersion: string;
  trees: TreeResult[];
  method: string;
}

/** kopia from the tool cache, built there first if it is not yet. */
function ensureKopia(log: (line: string) => void): void {
  if (existsSync(tools.kopia)) return;
  log(`building kopia into ${tools.kopia} (once per machine and version)`);
  execFileSync('bash', [join(repoRoot, 'testenv/scripts/build-go-tools.sh'), 'kopia'], { stdio: 'inherit' });
}

export async function benchEngines(
  env: TestEnvironment,
  log: (line: string) => void,
  only: readonly TreeName[] = treeNames,
): Promise<EnginesBenchResult> {
  ensureKopia(log);
  // "v0.21.1 build: v0.21.1 from: ": the version the binary reports, checked against the pin.
  const kopiaVersion = (await run(tools.kopia, ['--version'])).stdout.trim().split(' ')[0] ?? '';
  if (kopiaVersion !== versions.kopia) throw new Error(`${tools.kopia} is ${kopiaVersion}, not ${versions.kopia}`);
  const scratch = join(env.dir, 'bench-engines');
  rmSync(scratch, { recursive: true, force: true });
  const trees: TreeResult[] = [];
  for (const tree of only) trees.push(await benchTree(env, tree, join(scratch, tree), log));
  rmSync(scratch, { recursive: true, force: true });
  return {
    kopiaVersion,
    trees,
    method:
      'per tree, each engine into a fresh bucket with its own cache folder and default settings, one engine at a time: ' +
      'first backup (creating the repository), unchanged re-backup, (large file: after a tenth of its 1 MiB blocks changed, a third backup), ' +
      'restore of the newest backup into an empty folder, then a SHA-256 digest of every path and file compared with the source; ' +
      'sync and drop_caches before every step and before the cold read (find | xargs cat); ' +
      'peak memory: GNU time %M around each engine process; for the mover, its Node process (VmHWM at exit) plus the largest restic it ran; CPU: user plus system seconds, counted the same way',
  };
}

async function benchTree(
  env: TestEnvironment,
  name: TreeName,
  scratch: string,
  log: (line: string) => void,
): Promise<TreeResult> {
  const tree = join(scratch, 'tree');
  mkdirSync(scratch, { recursive: true });
  const made = makers[name](tree);
  let digest = treeDigest(tree);
  log(`${name}: ${made.files} files, ${(made.bytes / 2 ** 30).toFixed(2)} GiB`);
  const coldReadSeconds = await coldRead(tree);
  log(`${name}: cold read ${coldReadSeconds.toFixed(1)} s`);
  const stamp = Date.now();
  const engines = engineNames.map((engine) =>
    makeEngine(engine, env, tree, scratch, `bench-engines-${stamp}-${name}-${engine}`),
  );
  const results: Partial<Record<EngineName, Partial<EngineSteps>>> = {};
  const step = async (what: keyof EngineSteps, fn: (engine: Engine) => Promise<Measured>) => {
    for (const engine of engines) {
      await dropCaches();
      const measured = await fn(engine);
      const stored = what === 'restore' ? {} : { storedMiB: mib(await engine.storedBytes()) };
      (results[engine.name] ??= {})[what] = { ...measured, ...stored } as Measured & { storedMiB: number };
      log(`${name}: ${engine.name} ${what} ${measured.seconds.toFixed(1)} s, peak ${measured.peakMiB} MiB`);
    }
  };
  try {
    await step('backup', (e) => e.firstBackup());
    await step('rebackup', (e) => e.backup());
    let changed: TreeResult['changed'];
    if (name === 'large-file') {
      changed = changeTenthOfBlocks(tree);
      digest = treeDigest(tree);
      await step('changedRebackup', (e) => e.backup());
    }
    await step('restore', async (e) => {
      // Named like the tree, in a folder of its own: as a restore Job mounts the target volume.
      const target = join(scratch, `restored-${e.name}`, basename(tree));
      mkdirSync(target, { recursive: true });
      const measured = await e.restore(target);
      const restored = treeDigest(target);
      if (restored.sha256 !== digest.sha256) {
        throw new Error(
          `${e.name} restored ${restored.files} files, ${restored.bytes} bytes unlike the source's ${digest.files} files, ${digest.bytes} bytes`,
        );
      }
      rmSync(dirname(target), { recursive: true, force: true });
      return measured;
    });
    return {
      tree: name,
      files: made.files,
      bytes: made.bytes,
      coldReadSeconds,
      ...(changed === undefined ? {} : { changed }),
      engines: results as Record<EngineName, EngineSteps>,
    };
  } finally {
    for (const engine of engines) await engine.remove().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
