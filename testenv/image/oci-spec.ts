// The OCI runtime configuration runc gets for one container of a Pod, made
// the way the kubelet and containerd make it from the Pod's spec and the
// image's configuration: the image's entrypoint with the container's args,
// the image's user unless the securityContext names one, the image's
// environment then the container's (Secret references resolved from what the
// caller gives), the capabilities left after drop and add (containerd's
// default set to start from), no new privileges unless allowed, a read-only
// root when asked, and the volume mounts as bind mounts. It shares the host's
// network namespace, so the container reaches the API server and radosgw on
// loopback only, as the test environment's servers listen nowhere else.
// Pure: no I/O.
import type { Container, PodSecurityContext } from 'kubernetes-types/core/v1.js';

/** What an image's configuration says about running it (buildah inspect's OCIv1.config). */
export interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
}

export interface ContainerPlacement {
  /** The image's root file system, a folder. */
  rootfs: string;
  /** Each volumeMount's name: the host folder or file it is. */
  volumes: Readonly<Record<string, string>>;
  /** The values of Secret references: `${secret}/${key}`. */
  secretValues: Readonly<Record<string, string>>;
  /** The host file behind the container's terminationMessagePath. */
  terminationLog: string;
  hostname: string;
}

/** containerd's default capabilities for a container (what is left when nothing is dropped). */
export const defaultCapabilities = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
];

export function effectiveCapabilities(drop: readonly string[] = [], add: readonly string[] = []): string[] {
  const dropped = drop.map((c) => c.toUpperCase());
  const kept = dropped.includes('ALL') ? [] : defaultCapabilities.filter((c) => !dropped.includes(c));
  return [...new Set([...kept, ...add.map((c) => c.toUpperCase())])].map((c) => `CAP_${c}`);
}

/** uid and gid: the securityContext's, else the image's USER ("uid[:gid]", numeric). */
export function processUser(
  image: ImageConfig,
  pod: PodSecurityContext | undefined,
  container: Container,
): { uid: number; gid: number } {
  const [imageUid, imageGid] = (image.User ?? '0').split(':');
  const number = (text: string | undefined, what: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0)
      throw new Error(`the image's USER ${image.User ?? ''}: ${what} is not numeric`);
    return value;
  };
  const uid = container.securityContext?.runAsUser ?? pod?.runAsUser ?? number(imageUid, 'the user');
  const gid =
    container.securityContext?.runAsGroup ??
    pod?.runAsGroup ??
    (imageGid === undefined ? (uid === 0 ? 0 : uid) : number(imageGid, 'the group'));
  return { uid, gid };
}

export function processEnv(image: ImageConfig, container: Container, placement: ContainerPlacement): string[] {
  const env = new Map<string, string>();
  for (const line of image.Env ?? []) {
    const at = line.indexOf('=');
    if (at > 0) env.set(line.slice(0, at), line.slice(at + 1));
  }
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref !== undefined) {
      const value = placement.secretValues[`${ref.name}/${ref.key}`];
      if (value === undefined && ref.optional !== true)
        throw new Error(`env ${variable.name}: the Secret ${ref.name} has no key ${ref.key}`);
      if (value !== undefined) env.set(variable.name, value);
    } else if (variable.valueFrom !== undefined) {
      throw new Error(`env ${variable.name}: only values and Secret references are supported`);
    } else {
      env.set(variable.name, variable.value ?? '');
    }
  }
  if (!env.has('PATH')) env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  if (!env.has('HOSTNAME')) env.set('HOSTNAME', placement.hostname);
  return [...env].map(([name, value]) => `${name}=${value}`);
}

/** The process's argv: command replaces the entrypoint, args replace the image's Cmd. */
export function processArgs(image: ImageConfig, container: Container): string[] {
  const args =
    container.command !== undefined
      ? [...container.command, ...(container.args ?? [])]
      : [...(image.Entrypoint ?? []), ...(container.args ?? image.Cmd ?? [])];
  if (args.length === 0) throw new Error(`container ${container.name}: neither it nor its image names a program`);
  return args;
}

export function ociSpec(
  image: ImageConfig,
  pod: PodSecurityContext | undefined,
  container: Container,
  placement: ContainerPlacement,
): object {
  const security = container.securityContext;
  const capabilities = effectiveCapabilities(security?.capabilities?.drop, security?.capabilities?.add);
  const user = processUser(image, pod, container);
  const mounts = (container.volumeMounts ?? []).map((mount) => {
    const source = placement.volumes[mount.name];
    if (source === undefined) throw new Error(`volumeMount ${mount.name}: no volume given for it`);
    return {
      destination: mount.mountPath,
      type: 'bind',
      source,
      options: ['rbind', mount.readOnly === true ? 'ro' : 'rw'],
    };
  });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user,
      args: processArgs(image, container),
      env: processEnv(image, container, placement),
      cwd: container.workingDir ?? (image.WorkingDir === undefined || image.WorkingDir === '' ? '/' : image.WorkingDir),
      capabilities: {
        bounding: capabilities,
        effective: user.uid === 0 ? capabilities : [],
        permitted: user.uid === 0 ? capabilities : [],
      },
      noNewPrivileges: security?.allowPrivilegeEscalation === false,
    },
    root: { path: placement.rootfs, readonly: security?.readOnlyRootFilesystem === true },
    hostname: placement.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: container.terminationMessagePath ?? '/dev/termination-log',
        type: 'bind',
        source: placement.terminationLog,
        options: ['rbind', 'rw'],
      },
      ...mounts,
    ],
    linux: {
      // The host's network: loopback is where the test environment's servers are.
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/proc/scsi',
        '/sys/firmware',
      ],
      readonlyPaths: ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
