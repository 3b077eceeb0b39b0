// containerd (Debian's, with runc) for the real node: its root under the
// environment's folder, its state on tmpfs, a socket of its own, the CRI
// plugin with the local sandbox image and the bridge network, its streaming
// server on loopback. Images come from buildah's storage as archives, cached
// by image name.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../command.ts';
import { cacheDir, repoRoot } from '../paths.ts';

export const pauseImage = 'localhost/safehold-pause:1';
/** containerd's namespace for what the kubelet runs. */
export const criNamespace = 'k8s.io';

export interface ContainerdPaths {
  root: string;
  state: string;
  socket: string;
  config: string;
  cniConfDir: string;
}

export function containerdPaths(nodeDir: string): ContainerdPaths {
  return {
    root: join(nodeDir, 'containerd'),
    state: '/run/safehold-containerd',
    socket: join(nodeDir, 'containerd.sock'),
    config: join(nodeDir, 'containerd.toml'),
    cniConfDir: join(nodeDir, 'cni'),
  };
}

export function containerdConfig(paths: ContainerdPaths): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    'version = 2',
    `root = "${paths.root}"`,
    `state = "${paths.state}"`,
    'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
    '[grpc]',
    `  address = "${paths.socket}"`,
    '[ttrpc]',
    `  address = "${paths.socket}.ttrpc"`,
    `[${cri}]`,
    `  sandbox_image = "${pauseImage}"`,
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  enable_selinux = false',
    // This machine's root lacks CAP_SYS_RESOURCE: no OOM score below containerd's own (the sandbox's -998 fails).
    '  restrict_oom_score_adj = true',
    `[${cri}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    '  SystemdCgroup = false',
    `[${cri}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = "${paths.cniConfDir}"`,
    '',
  ].join('\n');
}

/** buildah's image as a docker archive, made once per image name (the name carries its hash). */
async function imageArchive(image: string): Promise<string> {
  const dir = join(cacheDir, 'containers', 'archives');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${image.replace(/[^a-zA-Z0-9.-]/g, '_')}.tar`);
  if (existsSync(file)) return file;
  const script = join(repoRoot, 'testenv/scripts/build-image.sh');
  await run(script, ['buildah', 'push', '--quiet', image, `docker-archive:${file}.tmp:${image}`], {
    timeoutMs: 600_000,
  });
  renameSync(`${file}.tmp`, file);
  return file;
}

export async function importImage(paths: ContainerdPaths, image: string): Promise<void> {
  const archive = await imageArchive(image);
  await run('ctr', ['--address', paths.socket, '-n', criNamespace, 'images', 'import', archive], {
    timeoutMs: 600_000,
  });
}

export function writeContainerdFiles(paths: ContainerdPaths, cniConfigList: object): void {
  mkdirSync(paths.cniConfDir, { recursive: true });
  writeFileSync(paths.config, containerdConfig(paths));
  writeFileSync(join(paths.cniConfDir, '10-safehold.conflist'), JSON.stringify(cniConfigList, null, 2));
}
