// The test environment from the command line (scripts/run.sh env ...):
//   up      start everything (or reuse what runs) and print how to reach it
//   down    stop every daemon by pid
//   status  say what runs
import { defaultEnvDir } from './paths.ts';
import { down, isRunning, readEnvironment, up } from './environment.ts';

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
    console.log(
      isRunning(dir) ? `running in ${dir}: ${JSON.stringify(readEnvironment(dir)?.server)}` : `not running (${dir})`,
    );
    break;
  default:
    console.error(`unknown command "${command}"; use up, down or status`);
    process.exitCode = 2;
}
