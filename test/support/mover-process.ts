// `safehold mover` run the way a mover Job runs it: the task and the
// credentials in the environment, progress and the result on stdout, the
// result in the termination message, which must parse as a MoverResult.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { moverMessage, moverResult, type MoverMessage, type MoverResult } from '../../src/api/index.ts';
import { testEnv, uniqueName } from './cluster.ts';

export interface MoverRun {
  exitCode: number | null;
  messages: MoverMessage[];
  stderr: string;
  /** The termination message, parsed: it must be a MoverResult. */
  result: MoverResult;
  raw: string;
}

export interface MoverProcessOptions {
  task: object;
  /** Where HOME and the termination message go. */
  work: string;
  password: string;
  secretKey?: string;
  /** Extra environment, e.g. a time zone. */
  env?: Record<string, string>;
  /** A download's presigned PUT URL, as the Job's Secret gives it ($SAFEHOLD_UPLOAD_URL). */
  uploadUrl?: string;
  /** What the mover reads on stdin (an application dump's frames); nothing when left out. */
  stdin?: Buffer;
}

export async function runMoverProcess(options: MoverProcessOptions): Promise<MoverRun> {
  const env = testEnv();
  const termination = join(options.work, `${uniqueName('termination')}.log`);
  const { exitCode, stdout, stderr } = await new Promise<{ exitCode: number | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = execFile(
        process.execPath,
        ['src/bin/safehold.ts', 'mover'],
        {
          env: {
            PATH: process.env.PATH,
            HOME: options.work,
            ...options.env,
            SAFEHOLD_TASK: JSON.stringify(options.task),
            RESTIC_PASSWORD: options.password,
            AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
            AWS_SECRET_ACCESS_KEY: options.secretKey ?? env.ceph.s3.secretKey,
            SAFEHOLD_RESTIC: env.tools.restic,
            SAFEHOLD_TERMINATION_LOG: termination,
            ...(options.uploadUrl === undefined ? {} : { SAFEHOLD_UPLOAD_URL: options.uploadUrl }),
          },
          timeout: 170_000,
          maxBuffer: 64 * 1024 * 1024,
        },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
          resolve({ exitCode: code, stdout, stderr });
        },
      );
      child.stdin?.end(options.stdin);
    },
  );
  const raw = readFileSync(termination, 'utf8');
  return {
    exitCode,
    stderr,
    raw,
    messages: stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => moverMessage.parse(JSON.parse(line))),
    result: moverResult.parse(JSON.parse(raw)),
  };
}
