// Smoke test of the test environment's Ceph cluster: starts (or reuses) it in a
// folder, touches RBD, CephFS and S3 once, prints its info and the time taken,
// then stops it and checks that no process of it survives (unless --keep).
//   usage: node testenv/ceph/cluster.smoke.ts DIR [--keep]
import { readdirSync, readFileSync } from 'node:fs';
import { run } from '../command.ts';
import { readPid } from '../daemons.ts';
import { CEPH_DAEMONS, startCeph, stopCeph } from './cluster.ts';
import { s3Answers } from './ceph-status.ts';

const args = process.argv.slice(2);
const dir = args.find((arg) => !arg.startsWith('--'));
if (dir === undefined) {
  console.error('usage: node testenv/ceph/cluster.smoke.ts DIR [--keep]');
  process.exit(2);
}
const keep = args.includes('--keep');
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

const begin = Date.now();
const cluster = await startCeph({ dir, log: (line) => console.log(line) });
const startTime = seconds(begin);
const env = { ...process.env, CEPH_CONF: cluster.confPath };
const show = async (command: string, commandArgs: string[]): Promise<void> => {
  console.log(`$ ${command} ${commandArgs.join(' ')}`);
  const { stdout } = await run(command, commandArgs, { env });
  console.log(stdout.trimEnd());
};

let failure: unknown;
try {
  const image = `${cluster.rbdPool}/smoke`;
  await run('rbd', ['-c', cluster.confPath, 'rm', image], { env }).catch(() => undefined); // left by an earlier --keep run
  await show('rbd', ['-c', cluster.confPath, 'create', '--size', '64M', image]);
  await show('rbd', ['-c', cluster.confPath, 'info', image]);
  await show('ceph', ['-c', cluster.confPath, 'fs', 'status', cluster.cephfsName]);
  if (!(await s3Answers(cluster.s3.endpoint))) throw new Error(`no S3 answer on ${cluster.s3.endpoint}`);
  console.log(`S3 answers on ${cluster.s3.endpoint}`);
  console.log(JSON.stringify(cluster, null, 2));
  console.log(`startCeph took ${startTime}; smoke checks done after ${seconds(begin)}`);
} catch (error) {
  failure = error;
}

if (keep) {
  console.log(`--keep: the cluster keeps running in ${cluster.dir}`);
} else {
  const pids = CEPH_DAEMONS.map((name) => readPid(cluster.dir, name)).filter((pid) => pid !== undefined);
  const stopBegin = Date.now();
  await stopCeph(cluster.dir);
  const left = [...new Set([...pids.filter(running), ...processesUsing(cluster.confPath)])];
  if (left.length > 0) throw new Error(`still running after stopCeph: pids ${left.join(' ')}`, { cause: failure });
  console.log(`stopped ${pids.length} daemons (pids ${pids.join(' ')}) in ${seconds(stopBegin)}; none left`);
}
if (failure !== undefined) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));

/** Alive and not a zombie (kill -0 succeeds on zombies until init reaps them). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Pids of processes whose command line names the cluster's ceph.conf. */
function processesUsing(confPath: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(confPath)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
