import { describe, expect, it } from 'vitest';
import { effectiveCapabilities, ociSpec, processArgs, processEnv, processUser, type ImageConfig } from './oci-spec.ts';

const image: ImageConfig = {
  User: '65532:65532',
  Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_VERSION=24'],
  Entrypoint: ['safehold'],
  Cmd: ['operator'],
  WorkingDir: '/app',
};
const placement = {
  rootfs: '/var/lib/rootfs',
  volumes: { source: '/srv/volume', cache: '/tmp/cache' },
  secretValues: { 'creds/RESTIC_PASSWORD': 'pw' },
  terminationLog: '/tmp/termination-log',
  hostname: 'mover',
};

describe('effectiveCapabilities', () => {
  it("starts from containerd's defaults, drops, then adds", () => {
    expect(effectiveCapabilities(['ALL'], ['DAC_READ_SEARCH', 'chown'])).toEqual(['CAP_DAC_READ_SEARCH', 'CAP_CHOWN']);
    const some = effectiveCapabilities(['NET_RAW', 'MKNOD']);
    expect(some).toContain('CAP_CHOWN');
    expect(some).not.toContain('CAP_NET_RAW');
    expect(some).not.toContain('CAP_MKNOD');
    expect(effectiveCapabilities()).toHaveLength(14);
  });
});

describe('processUser', () => {
  it("takes the container's, then the Pod's, then the image's user and group", () => {
    expect(processUser(image, undefined, { name: 'c' })).toEqual({ uid: 65532, gid: 65532 });
    expect(processUser(image, { runAsUser: 0, runAsGroup: 0 }, { name: 'c' })).toEqual({ uid: 0, gid: 0 });
    expect(processUser(image, { runAsUser: 0 }, { name: 'c', securityContext: { runAsUser: 7 } })).toEqual({
      uid: 7,
      gid: 65532,
    });
    expect(processUser({ User: '1000' }, undefined, { name: 'c' })).toEqual({ uid: 1000, gid: 1000 });
  });

  it('refuses a user name it cannot resolve without the image', () => {
    expect(() => processUser({ User: 'node' }, undefined, { name: 'c' })).toThrow(/USER node/);
  });
});

describe('processArgs', () => {
  it('replaces the entrypoint with command, and the image Cmd with args', () => {
    expect(processArgs(image, { name: 'c' })).toEqual(['safehold', 'operator']);
    expect(processArgs(image, { name: 'c', args: ['mover'] })).toEqual(['safehold', 'mover']);
    expect(processArgs(image, { name: 'c', command: ['restic', 'version'] })).toEqual(['restic', 'version']);
    expect(() => processArgs({}, { name: 'c' })).toThrow(/names a program/);
  });
});

describe('processEnv', () => {
  it("puts the container's values over the image's, resolving Secret references", () => {
    const env = processEnv(
      image,
      {
        name: 'c',
        env: [
          { name: 'NODE_VERSION', value: '25' },
          { name: 'RESTIC_PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'RESTIC_PASSWORD' } } },
          { name: 'CEPH_USER_KEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'CEPH', optional: true } } },
        ],
      },
      placement,
    );
    expect(env).toEqual([
      'PATH=/usr/local/bin:/usr/bin:/bin',
      'NODE_VERSION=25',
      'RESTIC_PASSWORD=pw',
      'HOSTNAME=mover',
    ]);
  });

  it('names a Secret key that is not given', () => {
    const container = {
      name: 'c',
      env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'NOPE' } } }],
    };
    expect(() => processEnv(image, container, placement)).toThrow('env X: the Secret creds has no key NOPE');
  });
});

describe('ociSpec', () => {
  it('locks the process down as the securityContext says, on the host network, volumes bound', () => {
    const spec = ociSpec(
      image,
      { runAsUser: 0, runAsGroup: 0 },
      {
        name: 'mover',
        args: ['mover'],
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] },
        },
        volumeMounts: [
          { name: 'source', mountPath: '/data', readOnly: true },
          { name: 'cache', mountPath: '/cache' },
        ],
      },
      placement,
    ) as {
      process: { noNewPrivileges: boolean; capabilities: { effective: string[] }; cwd: string };
      root: { readonly: boolean };
      mounts: { destination: string; source: string; options?: string[] }[];
      linux: { namespaces: { type: string }[] };
    };
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.process.capabilities.effective).toEqual(['CAP_DAC_READ_SEARCH']);
    expect(spec.process.cwd).toBe('/app');
    expect(spec.root.readonly).toBe(true);
    expect(spec.mounts).toContainEqual({
      destination: '/data',
      type: 'bind',
      source: '/srv/volume',
      options: ['rbind', 'ro'],
    });
    expect(spec.mounts.find((m) => m.destination === '/dev/termination-log')?.source).toBe('/tmp/termination-log');
    expect(spec.linux.namespaces.map((n) => n.type)).not.toContain('network');
  });

  it('names a volume mount that has no volume', () => {
    const container = { name: 'c', volumeMounts: [{ name: 'target', mountPath: '/target' }] };
    expect(() => ociSpec(image, undefined, container, placement)).toThrow('volumeMount target');
  });
});
