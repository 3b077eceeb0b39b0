// A Pod's volumes made real on this machine, as the kubelet's volume manager
// would: claims through their PV's storage backend, Secrets, ConfigMaps,
// projected service-account tokens and downward API files written out,
// emptyDir and hostPath as folders. A volume that cannot be had yet (an
// unbound claim, a missing Secret) throws NotReadyYet and the Pod waits.
import type { KeyToPath, PersistentVolume, PersistentVolumeClaim, Pod, Volume } from 'kubernetes-types/core/v1.js';
import type { Secret, ConfigMap } from 'kubernetes-types/core/v1.js';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isNotFound, kinds, type KubeClient } from '../../src/kube/index.ts';
import type { VolumeBackend } from '../storage/backend.ts';

export class NotReadyYet extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'NotReadyYet';
    this.reason = reason;
  }
}

export class Unsupported extends Error {
  override name = 'Unsupported';
}

export type PreparedVolume = { kind: 'directory' | 'device'; path: string; readOnly: boolean };

export interface PodVolumes {
  byName: Map<string, PreparedVolume>;
  release(): Promise<void>;
}

export interface VolumeDeps {
  client: KubeClient;
  backends: Map<string, VolumeBackend>;
}

export async function preparePodVolumes(deps: VolumeDeps, pod: Pod, podDir: string): Promise<PodVolumes> {
  const byName = new Map<string, PreparedVolume>();
  const releases: (() => Promise<void>)[] = [];
  const release = async () => {
    for (const r of releases.reverse()) await r().catch(() => undefined);
  };
  try {
    for (const volume of pod.spec?.volumes ?? []) {
      byName.set(volume.name, await prepareOne(deps, pod, volume, join(podDir, 'volumes', volume.name), releases));
    }
  } catch (error) {
    await release();
    throw error;
  }
  return { byName, release };
}

async function prepareOne(
  deps: VolumeDeps,
  pod: Pod,
  volume: Volume,
  dir: string,
  releases: (() => Promise<void>)[],
): Promise<PreparedVolume> {
  const namespace = pod.metadata?.namespace ?? 'default';
  if (volume.persistentVolumeClaim !== undefined) {
    const claimName = volume.persistentVolumeClaim.claimName;
    const claim = await getOrUndefined<PersistentVolumeClaim>(
      deps.client,
      kinds.persistentVolumeClaim,
      namespace,
      claimName,
    );
    if (claim === undefined) throw new NotReadyYet('FailedMount', `persistentvolumeclaim "${claimName}" not found`);
    const pvName = claim.spec?.volumeName;
    if (claim.status?.phase !== 'Bound' || pvName === undefined)
      throw new NotReadyYet('FailedMount', `persistentvolumeclaim "${claimName}" is not bound`);
    const pv = await deps.client.get<PersistentVolume>(kinds.persistentVolume, { name: pvName });
    const csi = pv.spec?.csi;
    const backend = csi === undefined ? undefined : deps.backends.get(csi.driver);
    if (csi === undefined || backend === undefined)
      throw new Unsupported(`volume "${volume.name}": PV ${pvName} is not served by a test storage backend`);
    const readOnly = volume.persistentVolumeClaim.readOnly === true || csi.readOnly === true;
    const published = await backend.publish(
      { volumeHandle: csi.volumeHandle, attributes: csi.volumeAttributes ?? {} },
      pv.spec?.volumeMode === 'Block' ? 'Block' : 'Filesystem',
      readOnly,
    );
    releases.push(() => published.release());
    return { kind: published.kind, path: published.path, readOnly };
  }
  if (volume.emptyDir !== undefined) {
    mkdirSync(dir, { recursive: true, mode: 0o777 });
    chmodSync(dir, 0o777);
    return { kind: 'directory', path: dir, readOnly: false };
  }
  if (volume.hostPath !== undefined) {
    if (volume.hostPath.type === 'DirectoryOrCreate') mkdirSync(volume.hostPath.path, { recursive: true });
    // As the kubelet checks a hostPath's type before it mounts it: the Pod waits with FailedMount.
    if (volume.hostPath.type === 'Directory' && !isDirectory(volume.hostPath.path))
      throw new NotReadyYet('FailedMount', `hostPath type check failed: ${volume.hostPath.path} is not a directory`);
    return { kind: 'directory', path: volume.hostPath.path, readOnly: false };
  }
  if (volume.secret !== undefined) {
    const name = volume.secret.secretName ?? '';
    const secret = await getOrUndefined<Secret>(deps.client, kinds.secret, namespace, name);
    if (secret === undefined && volume.secret.optional !== true)
      throw new NotReadyYet('FailedMount', `secret "${name}" not found`);
    writeKeys(dir, decodeSecret(secret), volume.secret.items, volume.secret.defaultMode ?? 0o644);
    return { kind: 'directory', path: dir, readOnly: true };
  }
  if (volume.configMap !== undefined) {
    const name = volume.configMap.name ?? '';
    const map = await getOrUndefined<ConfigMap>(deps.client, kinds.configMap, namespace, name);
    if (map === undefined && volume.configMap.optional !== true)
      throw new NotReadyYet('FailedMount', `configmap "${name}" not found`);
    writeKeys(dir, decodeConfigMap(map), volume.configMap.items, volume.configMap.defaultMode ?? 0o644);
    return { kind: 'directory', path: dir, readOnly: true };
  }
  if (volume.projected !== undefined) {
    mkdirSync(dir, { recursive: true });
    for (const source of volume.projected.sources ?? []) {
      if (source.serviceAccountToken !== undefined) {
        const token = await requestToken(
          deps.client,
          pod,
          source.serviceAccountToken.audience,
          source.serviceAccountToken.expirationSeconds,
        );
        writeFile(join(dir, source.serviceAccountToken.path), token, volume.projected.defaultMode ?? 0o644);
      } else if (source.configMap !== undefined) {
        const name = source.configMap.name ?? '';
        const map = await getOrUndefined<ConfigMap>(deps.client, kinds.configMap, namespace, name);
        if (map === undefined && source.configMap.optional !== true)
          throw new NotReadyYet('FailedMount', `configmap "${name}" not found`);
        writeKeys(dir, decodeConfigMap(map), source.configMap.items, volume.projected.defaultMode ?? 0o644);
      } else if (source.secret !== undefined) {
        const name = source.secret.name ?? '';
        const secret = await getOrUndefined<Secret>(deps.client, kinds.secret, namespace, name);
        if (secret === undefined && source.secret.optional !== true)
          throw new NotReadyYet('FailedMount', `secret "${name}" not found`);
        writeKeys(dir, decodeSecret(secret), source.secret.items, volume.projected.defaultMode ?? 0o644);
      } else if (source.downwardAPI !== undefined) {
        for (const item of source.downwardAPI.items ?? []) {
          if (item.fieldRef !== undefined)
            writeFile(join(dir, item.path), podField(pod, item.fieldRef.fieldPath), item.mode ?? 0o644);
        }
      } else {
        throw new Unsupported(`volume "${volume.name}": this projected source is not offered by the test node`);
      }
    }
    return { kind: 'directory', path: dir, readOnly: true };
  }
  throw new Unsupported(`volume "${volume.name}": this volume type is not offered by the test node`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The value of a downward-API field path, as the kubelet resolves it. */
export function podField(pod: Pod, fieldPath: string): string {
  const meta = pod.metadata ?? {};
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.hostIP':
      return '127.0.0.1';
    default: {
      const label = /^metadata\.labels\['(.+)'\]$/.exec(fieldPath);
      if (label !== null) return meta.labels?.[label[1] as string] ?? '';
      const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(fieldPath);
      if (annotation !== null) return meta.annotations?.[annotation[1] as string] ?? '';
      throw new Unsupported(`field path "${fieldPath}" is not offered by the test node`);
    }
  }
}

async function requestToken(
  client: KubeClient,
  pod: Pod,
  audience?: string,
  expirationSeconds?: number,
): Promise<string> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const sa = pod.spec?.serviceAccountName ?? 'default';
  const review = await client.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          ...(audience === undefined ? {} : { audiences: [audience] }),
          expirationSeconds: expirationSeconds ?? 3607,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid },
        },
      },
    },
  );
  return review.status.token;
}

export async function getOrUndefined<T>(
  client: KubeClient,
  kind: (typeof kinds)[keyof typeof kinds],
  namespace: string,
  name: string,
): Promise<T | undefined> {
  try {
    return await client.get<T & object>(kind, { namespace, name });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export function decodeSecret(secret: Secret | undefined): Map<string, Buffer> {
  return new Map(Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}

export function decodeConfigMap(map: ConfigMap | undefined): Map<string, Buffer> {
  const out = new Map(Object.entries(map?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8')]));
  for (const [k, v] of Object.entries(map?.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

function writeKeys(
  dir: string,
  data: Map<string, Buffer>,
  items: readonly KeyToPath[] | undefined,
  mode: number,
): void {
  mkdirSync(dir, { recursive: true });
  const selected: readonly KeyToPath[] = items ?? [...data.keys()].map((key) => ({ key, path: key }));
  for (const item of selected) {
    const value = data.get(item.key);
    if (value === undefined) throw new NotReadyYet('FailedMount', `key "${item.key}" not found`);
    writeFile(join(dir, item.path), value, item.mode ?? mode);
  }
}

function writeFile(path: string, content: string | Buffer, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
}
