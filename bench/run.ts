// `npm run bench`: brings up (or reuses) the test environment and runs the
// benchmarks, printing the numbers and writing them to bench/results/.
//   node bench/run.ts [--only backup|change-detection|restore|drill|block|pause|dump|objects|coverage|history|engines|bucket] [--quiet-seconds N] [--namespaces N] [--claims-per-namespace N] [--backups-per-volume N] [--catalogue history|runs] [--kubectl PATH] [--keep-env]
// The coverage and history benchmarks leave 10,000 PVCs (and a default policy) behind, an
// environment no journey expects: after them the environment is taken down, unless --keep-env.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectTestClient } from '../testenv/client.ts';
import { bucketsMadeFrom } from '../testenv/ceph/ceph-health.ts';
import { installCrds } from '../testenv/crds.ts';
import { down, up } from '../testenv/environment.ts';
import { defaultEnvDir, repoRoot, versions } from '../testenv/paths.ts';
import { benchBackup } from './backup-2g.ts';
import { benchBlock } from './block-16g.ts';
import { benchBucket } from './bucket-10k.ts';
import { benchChangeDetection } from './change-detection-2g.ts';
import { benchCoverage } from './coverage-10k.ts';
import { benchEngines } from './engines.ts';
import { enginesTables } from './engines-table.ts';
import { benchHistory } from './history-10k.ts';
import { benchRestore } from './restore-2g.ts';
import { benchDrill } from './drill-2g.ts';
import { benchHookPause } from './hook-pause.ts';
import { benchDumpStream } from './dump-stream.ts';
import { benchObjects, defaultKubectl } from './objects-1k.ts';

const { values } = parseArgs({
  options: {
    'quiet-seconds': { type: 'string', default: '300' },
    namespaces: { type: 'string', default: '1000' },
    'claims-per-namespace': { type: 'string', default: '10' },
    'backups-per-volume': { type: 'string', default: '14' },
    catalogue: { type: 'string', default: 'history' },
    only: { type: 'string' },
    // The objects benchmark's peer: the environment's kubectl, else the one on PATH.
    kubectl: { type: 'string' },
    'keep-env': { type: 'boolean', default: false },
  },
});
// The history benchmark fills the cluster with 140,000 objects, and the engines benchmark takes
// half an hour (kopia restores 100,000 small files in about ten minutes): they run only when asked for.
const onlyWhenAsked = ['history', 'engines'];
const wanted = (name: string) => (values.only === undefined && !onlyWhenAsked.includes(name)) || values.only === name;
const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const env = await up(defaultEnvDir, log);
const removeBucketsMade = await bucketsMadeFrom(env.ceph);
execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
const client = connectTestClient(env.kubeconfig);
await installCrds(client);
const dir = join(repoRoot, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const header = { date: new Date().toISOString(), machine: '2 cores, 24 GiB, Debian bookworm', versions };

if (wanted('backup')) {
  const backup = await benchBackup(env, client, log);
  writeFileSync(
    join(dir, 'backup-2g.json'),
    `${JSON.stringify({ ...header, backup: { ...backup, aims: { ratio: 1.1 } } }, null, 2)}\n`,
  );
  console.log(`
backup of a ${(backup.treeBytes / 2 ** 30).toFixed(2)} GiB tree (${backup.files} files) into a fresh repository on radosgw
  plain restic init + backup: ${backup.plainResticSeconds.toFixed(1)} s
  safehold mover:             ${backup.moverSeconds.toFixed(1)} s   ratio ${backup.ratio.toFixed(3)}   (aim <= 1.10)
  end to end (VolumeBackup: snapshot, clone, Job, mover): ${backup.endToEndSeconds.toFixed(1)} s
results in bench/results/backup-2g.json`);
}

if (wanted('change-detection')) {
  const cd = await benchChangeDetection(env, log);
  writeFileSync(
    join(dir, 'change-detection-2g.json'),
    `${JSON.stringify({ ...header, changeDetection: cd }, null, 2)}\n`,
  );
  const line = (
    what: string,
    b: { seconds: number; filesChanged: number; filesUnmodified: number; bytesAdded: number },
  ) =>
    `  ${what.padEnd(58)} ${b.seconds.toFixed(1).padStart(6)} s   ${b.filesChanged} files re-read as changed, ${b.filesUnmodified} skipped, ${(b.bytesAdded / 2 ** 20).toFixed(1)} MiB added`;
  console.log(`
second backup of the 2 GiB tree (${cd.files} files) after ${cd.changedPerStep} files (1%) changed, cold cache (first backup ${cd.firstBackupSeconds.toFixed(1)} s)
${line('inodes kept (RBD ext4 clone, CephFS .snap, live), full check', cd.keptInodesFull)}
${line('copied clone (directory driver, CephFS CSI clone), full check', cd.copiedCloneFull)}
${line('copied clone, size and mtime only (policy opt-in)', cd.copiedCloneMtimeSize)}
results in bench/results/change-detection-2g.json`);
}

if (wanted('block')) {
  const block = await benchBlock(env, log);
  writeFileSync(
    join(dir, 'block-16g.json'),
    `${JSON.stringify({ ...header, block: { ...block, aims: { rbdDiffVsDense: 1.5, incrementalVsFull: 0.1 } } }, null, 2)}\n`,
  );
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  console.log(`
block backup of a 16 GiB RBD image with ${mib(block.writtenBytes)} written (QCOW2 into restic, through rbd-fuse)
  rbd diff extents:      ${block.rbdDiff.seconds.toFixed(1)} s, ${mib(block.rbdDiff.bytesRead)} read, ${mib(block.rbdDiff.bytesAdded)} added
  zero scan (full read): ${block.zeroScan.seconds.toFixed(1)} s, ${mib(block.zeroScan.bytesRead)} read; dd of the device ${block.ddFullReadSeconds.toFixed(1)} s
  dense file, same size: ${block.dense.seconds.toFixed(1)} s   rbd diff / dense ${block.ratios.rbdDiffVsDense.toFixed(2)}   (aim <= 1.5)
  incremental after changing ${mib(block.incremental.changedBytes)}: ${block.incremental.seconds.toFixed(1)} s, ${mib(block.incremental.bytesRead)} read, ${mib(block.incremental.bytesAdded)} added
    vs the full: time ${block.ratios.incrementalVsFullSeconds.toFixed(3)}, bytes read ${block.ratios.incrementalVsFullBytesRead.toFixed(3)}, bytes added ${block.ratios.incrementalVsFullBytesAdded.toFixed(3)}   (aim < 0.10)
results in bench/results/block-16g.json`);
}

if (wanted('restore')) {
  const restore = await benchRestore(env, log);
  writeFileSync(
    join(dir, 'restore-2g.json'),
    `${JSON.stringify({ ...header, restore: { ...restore, aims: { ratio: 1.1 } } }, null, 2)}\n`,
  );
  console.log(`
restore of a ${(restore.treeBytes / 2 ** 30).toFixed(2)} GiB tree (${restore.files} files) from a repository on radosgw
  plain restic restore: ${restore.plainResticSeconds.toFixed(1)} s   (runs: ${restore.runs.plainResticSeconds.map((s) => s.toFixed(1)).join(', ')})
  safehold mover:       ${restore.moverSeconds.toFixed(1)} s   (runs: ${restore.runs.moverSeconds.map((s) => s.toFixed(1)).join(', ')})   ratio ${restore.ratio.toFixed(3)}   (aim <= 1.10)
results in bench/results/restore-2g.json`);
}

if (wanted('drill')) {
  const drill = await benchDrill(env, log);
  writeFileSync(
    join(dir, 'drill-2g.json'),
    `${JSON.stringify({ ...header, drill: { ...drill, aims: { ratio: 1.2 } } }, null, 2)}\n`,
  );
  const f = drill.fleet;
  console.log(`
restore drill of a ${(drill.treeBytes / 2 ** 30).toFixed(2)} GiB tree (${drill.files} files) from a repository on radosgw
  plain restic restore: ${drill.plainResticSeconds.toFixed(1)} s   (runs: ${drill.runs.plainResticSeconds.map((s) => s.toFixed(1)).join(', ')})
  safehold drill:       ${drill.drillSeconds.toFixed(1)} s   (runs: ${drill.runs.drillSeconds.map((s) => s.toFixed(1)).join(', ')})   ratio ${drill.ratio.toFixed(3)}   (aim <= 1.20)
  ${f.volumes} such volumes proven every ${f.windowDays} days: ${f.drillsPerDay.toFixed(1)} drills a day, ${f.moverHoursPerDay.toFixed(2)} mover hours, ${(f.bytesReadPerDay / 2 ** 30).toFixed(1)} GiB read from the repository a day
results in bench/results/drill-2g.json`);
}

if (wanted('pause')) {
  const pause = await benchHookPause(env, client, log);
  writeFileSync(join(dir, 'hook-pause.json'), `${JSON.stringify({ ...header, pause }, null, 2)}\n`);
  console.log(`
how long PostgreSQL under pgbench (${pause.transactionsPerSecond} transactions/s) stops for a backup with the postgresql preset
${pause.backups.map((b, i) => `  backup ${i + 1}: no transaction completed for ${b.pauseSeconds.toFixed(2)} s; hooks ${b.hooksSeconds} s; whole backup ${b.backupSeconds} s`).join('\n')}
  baseline (the load alone): ${pause.baselineSeconds.toFixed(2)} s
results in bench/results/hook-pause.json`);
}

if (wanted('dump')) {
  const dump = await benchDumpStream(env, client, log);
  writeFileSync(join(dir, 'dump-stream.json'), `${JSON.stringify({ ...header, dump }, null, 2)}\n`);
  const row = (label: string, runs: number[]) => `  ${label.padEnd(38)} ${runs.map((s) => s.toFixed(1)).join(' / ')} s`;
  console.log(`
a pg_dumpall of ${(dump.dumpBytes / 1e6).toFixed(0)} MB from PostgreSQL on the real node (three runs each)
${row('pg_dumpall alone (in the container):', dump.commandSeconds)}
${row("exec into restic --stdin (K8up's way):", dump.execToResticSeconds)}
${row('Safehold DumpRun, created to stored:', dump.safeholdSeconds)}
${row('  of which the stream:', dump.safeholdStreamSeconds)}
results in bench/results/dump-stream.json`);
}

if (wanted('bucket')) {
  const bucket = await benchBucket(env, log);
  writeFileSync(join(dir, 'bucket-10k.json'), `${JSON.stringify({ ...header, bucket }, null, 2)}\n`);
  const row = (what: string, run: { seconds: number; read: number; filesNew: number; filesChanged: number }) =>
    `  ${what.padEnd(36)} ${run.seconds.toFixed(1).padStart(6)} s   ${run.read} bodies read, restic: ${run.filesNew} new, ${run.filesChanged} changed`;
  const r = bucket.rclone;
  console.log(`
bucket backup of ${bucket.objects} objects (${(bucket.objectBytes / 2 ** 20).toFixed(1)} MiB) from radosgw into restic
${row('first run', bucket.first)}
${row('unchanged run', bucket.unchanged)}
${row(`after ${bucket.changed.objectsRewritten} objects were rewritten`, bucket.changed)}
  ${r === undefined ? 'rclone: not installed' : `rclone sync to a local folder (${r.version}): first ${r.firstSeconds.toFixed(1)} s, unchanged ${r.unchangedSeconds.toFixed(1)} s`}
results in bench/results/bucket-10k.json`);
}

if (wanted('objects')) {
  const objects = await benchObjects(env, client, values.kubectl ?? defaultKubectl(env), log);
  writeFileSync(join(dir, 'objects-1k.json'), `${JSON.stringify({ ...header, objects }, null, 2)}\n`);
  const s = (spread: { min: number; median: number }) =>
    `${spread.min.toFixed(2)} / ${spread.median.toFixed(2)} s`.padStart(17);
  const row = (label: string, ...columns: { min: number; median: number }[]) =>
    `  ${label.padEnd(27)}${columns.map(s).join(' ')}`;
  const d = objects.dump;
  const { restore: r, noopRestore: n } = objects;
  console.log(`
a namespace of ${objects.fixture.total} API objects, dumped and restored on the real API server (min / median of ${objects.rounds})
  ${''.padEnd(27)}${['safehold', 'kubectl', 'kubectl server-side'].map((h) => h.padStart(17)).join(' ')}
${row('dump (kubectl: cached)', d.safehold.seconds, d.kubectl.warmCache.seconds)}
${row('dump (kubectl: not cached)', d.safehold.seconds, d.kubectl.coldCache.seconds)}
${row('restore, empty namespace', r.safehold.seconds, r.kubectl.seconds, r.kubectlServerSide.seconds)}
${row('restore again, no change', n.safehold.seconds, n.kubectl.seconds, n.kubectlServerSide.seconds)}
  safehold: ${d.safehold.objects} objects, ${(d.safehold.bytes / 2 ** 20).toFixed(2)} MiB, ${d.safehold.kindsListed} kinds listed, ${d.safehold.skippedKinds} skipped; kubectl: ${d.kubectl.items} items, ${(d.kubectl.bytes / 2 ** 20).toFixed(2)} MiB
  restore: ${JSON.stringify(r.safehold.results)}; again: ${JSON.stringify(n.safehold.results)}; CLI start ${objects.cliStartSeconds.median.toFixed(2)} s
results in bench/results/objects-1k.json`);
}

if (wanted('engines')) {
  const engines = await benchEngines(env, log);
  writeFileSync(join(dir, 'engines.json'), `${JSON.stringify({ ...header, engines }, null, 2)}\n`);
  console.log(`
plain restic, kopia (${engines.kopiaVersion}) and the safehold mover, each into a fresh bucket on radosgw, page cache dropped before each step
${enginesTables(engines)}
results in bench/results/engines.json`);
}

if (wanted('coverage')) {
  const size = { namespaces: Number(values.namespaces), claimsPerNamespace: Number(values['claims-per-namespace']) };
  const coverage = await benchCoverage(env, client, size, Number(values['quiet-seconds']), log);
  writeFileSync(
    join(dir, 'coverage-10k.json'),
    `${JSON.stringify({ ...header, coverage: { ...coverage, aims: { msToAllDecisions: 10_000, steadyRssMiB: 250, quietRequests: 'watches only, no periodic LISTs' } } }, null, 2)}\n`,
  );
  console.log(`
coverage of ${coverage.volumes} PVCs in ${coverage.namespaces} namespaces
  time from operator start to every decision: ${coverage.msToAllDecisions} ms   (aim < 10000 ms)
  RSS after decisions: ${coverage.rssMiB.afterDecisions} MiB; steady max over ${coverage.quietSeconds} s: ${coverage.rssMiB.steadyMax} MiB   (aim < 250 MiB)
  requests in a quiet ${coverage.quietSeconds} s: ${JSON.stringify(coverage.quietRequests)}   (aim: watches only)
results in bench/results/coverage-10k.json`);
}
if (wanted('history')) {
  const size = { namespaces: Number(values.namespaces), claimsPerNamespace: Number(values['claims-per-namespace']) };
  const perVolume = Number(values['backups-per-volume']);
  const port = 18_000 + Math.floor(Math.random() * 1000);
  const catalogue = values.catalogue === 'runs' ? 'runs' : 'history';
  const history = await benchHistory(
    env,
    client,
    size,
    perVolume,
    catalogue,
    Number(values['quiet-seconds']),
    port,
    log,
  );
  const file = `history-10k-${perVolume}${catalogue === 'runs' ? '.runs' : ''}.json`;
  writeFileSync(
    join(dir, file),
    `${JSON.stringify({ ...header, history: { ...history, aims: { msToAllDecisions: 10_000, steadyRssMiB: 250, longestEventLoopStallMs: 1000, leaseRenewals: 'every one on time', quietRequests: 'no LIST', controlPlane: 'a tenth of what VolumeBackups add today' } } }, null, 2)}\n`,
  );
  const o = history.operator;
  const c = history.controlPlane;
  console.log(`
history: ${history.volumes} PVCs with ${history.backupsPerVolume} kept backups each (${history.backups}) in ${history.objects} ${catalogue === 'runs' ? 'VolumeBackups' : 'VolumeHistories'}, written in ${history.secondsToWriteHistory.toFixed(0)} s
  control plane: apiserver RSS ${c.apiserverRssMiB.before} -> ${c.apiserverRssMiB.after} MiB, etcd db ${c.etcdDbMiB.before} -> ${c.etcdDbMiB.after} MiB
  operator: every decision after ${o.msToAllDecisions ?? 'never'} ms, every cache synced after ${o.msToCachesSynced ?? 'never'} ms; RSS ${o.rssMiB.afterDecisions} MiB after, ${o.rssMiB.steadyMax} MiB max
  longest event-loop stall: ${o.longestEventLoopStallMs ?? '?'} ms   (aim <= 1000 ms)
  Lease renewals: ${o.leaseRenewals.seen} of ${o.leaseRenewals.expected} expected, longest gap ${o.leaseRenewals.longestGapMs} ms
  requests in a quiet ${o.quietSeconds} s: ${JSON.stringify(o.quietRequests)}
  stopped by SIGTERM after: ${o.stoppedBySigtermMs ?? (o.exitedOnItsOwn === undefined ? 'did not stop within 30 s' : '(had exited)')} ms${o.exitedOnItsOwn === undefined ? '' : `\n  EXITED ON ITS OWN after ${o.exitedOnItsOwn.afterMs} ms, code ${o.exitedOnItsOwn.code}; last words:\n    ${o.exitedOnItsOwn.lastLog.join('\n    ')}`}
results in bench/results/${file}`);
}
client.close();
if ((wanted('coverage') || wanted('history')) && !values['keep-env']) {
  log('taking the test environment down: it holds the 10,000-PVC fixture (--keep-env keeps it)');
  await down(defaultEnvDir);
} else {
  // The benchmarks' repositories are gigabytes: they go, so runs do not fill the test OSD.
  log(`removed the buckets the benchmarks made: ${(await removeBucketsMade()).join(', ') || 'none'}`);
}
