// What one container needs before it can start: its image understood, its
// environment resolved from values, Secrets, ConfigMaps and the downward API,
// its command line with $(VAR) references expanded, and its user and
// capabilities computed from the security contexts.
import type { ConfigMap, Container, EnvVar, Pod, Secret } from 'kubernetes-types/core/v1.js';
import { kinds, type KubeClient } from '../../src/kube/index.ts';
import { decodeConfigMap, decodeSecret, getOrUndefined, NotReadyYet, podField } from './volumes.ts';

/** The one image this test node has: this checkout's `safehold` CLI. */
export function isSafeholdImage(image: string | undefined): boolean {
  return image !== undefined && /^(?:[^/]+\/)*safehold(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?$/.test(image);
}

export async function resolveEnv(client: KubeClient, pod: Pod, container: Container): Promise<Map<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env = new Map<string, string>();
  const secrets = new Map<string, Map<string, Buffer> | undefined>();
  const maps = new Map<string, Map<string, Buffer> | undefined>();
  const secret = async (name: string) => {
    if (!secrets.has(name)) {
      const found = await getOrUndefined<Secret>(client, kinds.secret, namespace, name);
      secrets.set(name, found === undefined ? undefined : decodeSecret(found));
    }
    return secrets.get(name);
  };
  const configMap = async (name: string) => {
    if (!maps.has(name)) {
      const found = await getOrUndefined<ConfigMap>(client, kinds.configMap, namespace, name);
      maps.set(name, found === undefined ? undefined : decodeConfigMap(found));
    }
    return maps.get(name);
  };
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.secretRef !== undefined) {
      const data = await secret(from.secretRef.name ?? '');
      if (data === undefined && from.secretRef.optional !== true)
        throw new NotReadyYet('CreateContainerConfigError', `secret "${from.secretRef.name ?? ''}" not found`);
      for (const [k, v] of data ?? []) env.set(prefix + k, v.toString('utf8'));
    }
    if (from.configMapRef !== undefined) {
      const data = await configMap(from.configMapRef.name ?? '');
      if (data === undefined && from.configMapRef.optional !== true)
        throw new NotReadyYet('CreateContainerConfigError', `configmap "${from.configMapRef.name ?? ''}" not found`);
      for (const [k, v] of data ?? []) env.set(prefix + k, v.toString('utf8'));
    }
  }
  for (const variable of container.env ?? []) {
    const value = await envValue(variable, env, pod, secret, configMap);
    if (value !== undefined) env.set(variable.name, value);
  }
  return env;
}

async function envValue(
  variable: EnvVar,
  env: Map<string, string>,
  pod: Pod,
  secret: (name: string) => Promise<Map<string, Buffer> | undefined>,
  configMap: (name: string) => Promise<Map<string, Buffer> | undefined>,
): Promise<string | undefined> {
  if (variable.valueFrom === undefined) return expand(variable.value ?? '', env);
  const { secretKeyRef, configMapKeyRef, fieldRef } = variable.valueFrom;
  if (fieldRef !== undefined) return podField(pod, fieldRef.fieldPath);
  const ref = secretKeyRef ?? configMapKeyRef;
  if (ref === undefined) return undefined;
  const what = secretKeyRef !== undefined ? 'secret' : 'configmap';
  const data = secretKeyRef !== undefined ? await secret(ref.name ?? '') : await configMap(ref.name ?? '');
  const value = data?.get(ref.key);
  if (value === undefined) {
    if (ref.optional === true) return undefined;
    const problem =
      data === undefined
        ? `${what} "${ref.name ?? ''}" not found`
        : `couldn't find key ${ref.key} in ${what} "${ref.name ?? ''}"`;
    throw new NotReadyYet('CreateContainerConfigError', problem);
  }
  return value.toString('utf8');
}

/** Expands $(NAME) from env, leaves unknown references as they are, and turns $$( into $(. */
export function expand(text: string, env: Map<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return env.get(name ?? '') ?? match;
  });
}

/** The argv of a `safehold` image container: its entrypoint is the safehold CLI. */
export function commandLine(container: Container, env: Map<string, string>): string[] {
  const command = container.command ?? ['safehold'];
  const args = container.args ?? [];
  return [...command, ...args].map((part) => expand(part, env));
}

// The capabilities a container runtime gives a container by default.
const defaultCapabilities = [
  'chown',
  'dac_override',
  'fsetid',
  'fowner',
  'mknod',
  'net_raw',
  'setgid',
  'setuid',
  'setfcap',
  'setpcap',
  'net_bind_service',
  'sys_chroot',
  'kill',
  'audit_write',
];

export interface ProcessIdentity {
  uid: number | undefined;
  gid: number | undefined;
  /** The bounding set, lower-case names without `cap_`; undefined when privileged (everything). */
  capabilities: string[] | undefined;
  noNewPrivileges: boolean;
  readOnlyRoot: boolean;
}

export function processIdentity(pod: Pod, container: Container): ProcessIdentity {
  const podContext = pod.spec?.securityContext ?? {};
  const context = container.securityContext ?? {};
  const normalize = (cap: string) => cap.toLowerCase().replace(/^cap_/, '');
  let capabilities: string[] | undefined;
  if (context.privileged !== true) {
    const drop = (context.capabilities?.drop ?? []).map(normalize);
    const add = (context.capabilities?.add ?? []).map(normalize);
    const kept = drop.includes('all') ? [] : defaultCapabilities.filter((c) => !drop.includes(c));
    capabilities = [...new Set([...kept, ...add])];
  }
  const uid = context.runAsUser ?? podContext.runAsUser;
  const gid = context.runAsGroup ?? podContext.runAsGroup ?? uid;
  return {
    uid,
    gid,
    capabilities,
    noNewPrivileges: context.allowPrivilegeEscalation === false,
    readOnlyRoot: context.readOnlyRootFilesystem === true,
  };
}
