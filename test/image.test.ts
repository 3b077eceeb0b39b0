// Safehold's image, built from the Dockerfile as shipped (the setup runs
// testenv/scripts/build-image.sh), run under runc the way the kubelet would
// run it: its programs answer as the image's non-root user, and a mover Job's
// container, taken from the Job the operator makes (its securityContext,
// capabilities, read-only root, volume mounts and environment), backs a
// volume up to radosgw and restores it exactly.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moverResult, type ChosenBackup, type MoverTask, type VolumeRestore } from '../src/api/index.ts';
import { moverCacheDir, moverJob, moverSourcePath, restoreCapabilities } from '../src/core/mover-job.ts';
import { restoreMoverTask } from '../src/core/restore-task.ts';
import { run } from '../testenv/command.ts';
import { builtImage, runContainer, type BuiltImage } from '../testenv/image/container.ts';
import { testEnv, uniqueName } from './support/cluster.ts';
import { compareTrees, writeRichTree } from './support/tree.ts';

const work = mkdtempSync(join(tmpdir(), 'image-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const folder = (name: string) => {
  const path = mkdtempSync(join(work, `${name}-`));
  chmodSync(path, 0o755);
  return path;
};

let image: BuiltImage;
beforeAll(async () => {
  image = await builtImage();
});

/** A container of the image with nothing but the command, as locked down as a mover's. */
function plainContainer(command: string[]) {
  return {
    name: 'c',
    image: image.name,
    command,
    securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  };
}

describe("Safehold's image", () => {
  it('runs as its non-root user, with safehold, restic, rbd and qemu-img at the versions we ship', async () => {
    const answers: [string[], RegExp][] = [
      [['id', '-u'], /^65532$/m],
      [['safehold', '--version'], /^\d+\.\d+\.\d+/m],
      [['restic', 'version'], new RegExp(`restic ${testEnv().versions.restic.replace(/^v/, '')}`)],
      [['rbd', '--version'], /ceph version/],
      [['qemu-img', '--version'], /qemu-img version/],
    ];
    for (const [command, answer] of answers) {
      const result = await runContainer({ image, container: plainContainer(command) });
      expect(result.exitCode, `${command.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(answer);
    }
  });

  it("backs a volume up and restores it exactly, as the operator's mover Jobs run it", async () => {
    const env = testEnv();
    const volume = folder('volume');
    writeRichTree(volume);
    const password = 'image test password';
    const secretValues = {
      'creds/RESTIC_PASSWORD': password,
      'creds/AWS_ACCESS_KEY_ID': env.ceph.s3.accessKey,
      'creds/AWS_SECRET_ACCESS_KEY': env.ceph.s3.secretKey,
    };
    const repository = {
      engine: 'restic' as const,
      url: `s3:${env.ceph.s3.endpoint}/${uniqueName('image')}`,
      region: env.ceph.s3.region,
    };
    const jobOf = (task: MoverTask, more: Partial<Parameters<typeof moverJob>[0]>) => {
      const job = moverJob({
        name: 'image-test',
        namespace: 'safehold-system',
        labels: {},
        mover: { image: image.name },
        task,
        secretName: 'creds',
        deadlineSeconds: 600,
        ...more,
      });
      const pod = job.spec?.template.spec;
      const container = pod?.containers[0];
      if (container === undefined) throw new Error('the mover Job has no container');
      return { pod: pod?.securityContext, container };
    };
    const runMover = async (job: ReturnType<typeof jobOf>, volumes: Record<string, string>) => {
      const result = await runContainer({
        image,
        ...job,
        volumes: { ...volumes, cache: folder('cache'), tmp: folder('tmp') },
        secretValues,
      });
      expect(result.terminationMessage, result.stderr).not.toBe('');
      return { ...result, result: moverResult.parse(JSON.parse(result.terminationMessage)) };
    };

    const backup = await runMover(
      jobOf(
        {
          kind: 'backup',
          repository: { ...repository, initialize: true },
          sourcePath: moverSourcePath,
          host: 'image-test',
          tags: [],
          cacheDir: moverCacheDir,
          compression: 'auto',
          verifyBeforeUpload: true,
          changeDetection: 'inode',
        },
        { sourceClaim: 'source' },
      ),
      { source: volume },
    );
    expect(backup.result.type, backup.stderr).toBe('summary');
    expect(backup.exitCode).toBe(0);
    if (backup.result.type !== 'summary') return;
    // The mover's securityContext as the operator writes it: root without privileges, read-only root.
    expect(backup.result.filesNew).toBeGreaterThan(2500);

    const chosen: ChosenBackup = {
      name: 'b',
      namespace: 'team',
      pvc: 'data',
      snapshotId: backup.result.snapshotId,
      repository: 'shared',
      snapshotPath: moverSourcePath,
    };
    const restore: VolumeRestore = {
      metadata: { name: 'r', namespace: 'team' },
      spec: { source: { pvc: 'data' }, target: { pvc: 'back' } },
      status: { targetCreated: true },
    };
    const target = folder('target');
    const restored = await runMover(
      jobOf(restoreMoverTask(restore, chosen, repository), {
        targetClaim: 'target',
        capabilities: restoreCapabilities,
      }),
      { target },
    );
    expect(restored.result.type, restored.stderr).toBe('restored');
    expect(restored.exitCode).toBe(0);
    // Every entry, its bytes, modes, owners and times, and the volume root's own.
    expect(compareTrees(volume, target)).toEqual([]);

    const check = await run(env.tools.restic, ['check', '--no-cache'], {
      env: {
        ...process.env,
        RESTIC_REPOSITORY: repository.url,
        RESTIC_PASSWORD: password,
        AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
        AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
      },
    });
    expect(check.stdout).toMatch(/no errors were found/);
  });
});
