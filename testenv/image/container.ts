// Safehold's image, as testenv/scripts/build-image.sh built it from the
// Dockerfile, and one of a Pod's containers run from it under runc: the
// image's root file system comes from buildah (a fresh container of the
// image, mounted), the runtime configuration from ociSpec, and runc runs it
// to its end. What the container wrote to its termination message path is
// read back, as the kubelet would.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container, PodSecurityContext } from 'kubernetes-types/core/v1.js';
import { run } from '../command.ts';
import { repoRoot } from '../paths.ts';
import { ociSpec, type ContainerPlacement, type ImageConfig } from './oci-spec.ts';

const buildScript = join(repoRoot, 'testenv/scripts/build-image.sh');
/** runc's state, on tmpfs: a reboot leaves nothing behind. */
const runcRoot = '/run/safehold-runc';

/** buildah with the storage the build script uses. */
export function buildah(args: readonly string[], timeoutMs = 120_000) {
  return run(buildScript, ['buildah', ...args], { timeoutMs });
}

export interface BuiltImage {
  name: string;
  config: ImageConfig;
}

/** The image of the current sources; the setup builds it (build-image.sh), this only finds it. */
export async function builtImage(): Promise<BuiltImage> {
  const name = (await run(buildScript, ['--print-name'])).stdout.trim();
  const inspected = await buildah(['inspect', '--type', 'image', name]).catch((error: unknown) => {
    throw new Error(`${name} is not built: run testenv/scripts/build-image.sh (${String(error)})`);
  });
  const parsed = JSON.parse(inspected.stdout) as { OCIv1?: { config?: ImageConfig } };
  return { name, config: parsed.OCIv1?.config ?? {} };
}

export interface ContainerRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** What the container wrote to its termination message path. */
  terminationMessage: string;
}

export interface ContainerInput {
  image: BuiltImage;
  pod?: PodSecurityContext | undefined;
  container: Container;
  volumes?: Readonly<Record<string, string>>;
  secretValues?: Readonly<Record<string, string>>;
  timeoutMs?: number;
}

let runs = 0;

/** A program's exit code and output, whatever the code; an error only when it could not run or ran out of time. */
function runToExit(
  command: string,
  args: readonly string[],
  timeoutMs = 300_000,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error === null) resolve({ exitCode: 0, stdout, stderr });
        else if (typeof error.code === 'number' && error.killed !== true)
          resolve({ exitCode: error.code, stdout, stderr });
        else reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
      },
    );
  });
}

export async function runContainer(input: ContainerInput): Promise<ContainerRun> {
  const id = `safehold-test-${process.pid}-${++runs}`;
  const bundle = mkdtempSync(join(tmpdir(), 'safehold-bundle-'));
  const terminationLog = join(bundle, 'termination-log');
  writeFileSync(terminationLog, '');
  await buildah(['from', '--pull=never', '--name', id, input.image.name]);
  try {
    const rootfs = (await buildah(['mount', id])).stdout.trim();
    const placement: ContainerPlacement = {
      rootfs,
      volumes: input.volumes ?? {},
      secretValues: input.secretValues ?? {},
      terminationLog,
      hostname: id.slice(0, 63),
    };
    writeFileSync(
      join(bundle, 'config.json'),
      JSON.stringify(ociSpec(input.image.config, input.pod, input.container, placement)),
    );
    mkdirSync(runcRoot, { recursive: true });
    const outcome = await runToExit('runc', ['--root', runcRoot, 'run', '--bundle', bundle, id], input.timeoutMs);
    return { ...outcome, terminationMessage: readFileSync(terminationLog, 'utf8') };
  } finally {
    await run('runc', ['--root', runcRoot, 'delete', '--force', id]).catch(() => undefined);
    await buildah(['rm', id]).catch(() => undefined);
    rmSync(bundle, { recursive: true, force: true });
  }
}
