// The test environment from the command line (scripts/run.sh env ...):
//   up      start everything (or reuse what runs) and print how to reach it
//   down    stop every daemon by pid
//   status  say what runs: every daemon, Ceph's health, how full its OSD is, whether S3 answers
import { cephStatus, describeStatus, s3Answers } from './ceph/ceph-status.ts';
import { describeUse, osdUse } from './ceph/ceph-health.ts';
import { defaultEnvDir } from './paths.ts';
import { daemonStates, down, isRunning, readEnvironment, up } from './environment.ts';

const [command = 'status'] = process.argv.slice(2);
const dir = defaultEnvDir;

switch (command) {
  case 'up': {
    const env = await up(dir);
    console.log(`export KUBECONFIG=${env.kubeconfig}`);
    console.log(`export PATH=${env.binDir}:$PATH`);
    console.log(`S3: ${env.ceph.s3.endpoint} (access key ${env.ceph.s3.accessKey})`);
    break;
  }
  case 'down':
    await down(dir);
    console.log(`stopped the environment in ${dir}`);
    break;
  case 'status':
    await printStatus();
    break;
  default:
    console.error(`unknown command "${command}"; use up, down or status`);
    process.exitCode = 2;
}

async function printStatus(): Promise<void> {
  const env = readEnvironment(dir);
  if (env === undefined) {
    console.log(`not running (${dir})`);
    return;
  }
  const states = daemonStates(dir);
  console.log(`${isRunning(dir) ? 'running' : 'NOT running: a daemon is down'} in ${dir}, API server ${env.server}`);
  for (const { name, running } of states) console.log(`  ${name.padEnd(24)} ${running ? 'running' : 'DOWN'}`);
  const ask = async (what: string, question: () => Promise<string>) => {
    try {
      console.log(`  ${what.padEnd(24)} ${await question()}`);
    } catch (error) {
      console.log(
        `  ${what.padEnd(24)} no answer: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      );
    }
  };
  await ask('ceph', async () => describeStatus(await cephStatus(env.ceph.confPath, 5)));
  await ask('osd', async () => describeUse(await osdUse(env.ceph.confPath)));
  await ask('s3', async () =>
    (await s3Answers(env.ceph.s3.endpoint))
      ? `answers on ${env.ceph.s3.endpoint}`
      : `NO answer on ${env.ceph.s3.endpoint}`,
  );
  if (!isRunning(dir)) process.exitCode = 1;
}
