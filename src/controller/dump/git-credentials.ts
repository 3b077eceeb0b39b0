// A Git dump's credentials (ApplicationDump spec.git.secretRef): read from the
// repository's own Secret in the dump's namespace, with the keys Flux's
// GitRepository reads, and given to the mover only through its run's Secret.
import { moverEnv, type DumpRun, type ParsedApplicationDumpSpec } from '../../api/index.ts';
import { isNotFound, kinds, type KubeObject } from '../../kube/index.ts';
import type { DumpDeps } from './dump-kind.ts';

export type GitSource = NonNullable<ParsedApplicationDumpSpec['git']>;

/**
 * A Git repository's credentials from its Secret (the keys Flux's GitRepository reads), as the
 * mover's environment: username and password (basic), or identity and known_hosts (ssh).
 */
export async function gitCredentials(
  deps: DumpDeps,
  run: DumpRun,
  git: GitSource,
): Promise<{ kind?: 'basic' | 'ssh'; data: Record<string, string> } | { missing: string }> {
  if (git.secretRef === undefined) return { data: {} };
  const ns = run.metadata.namespace;
  const where = `Secret ${ns}/${git.secretRef.name} (ApplicationDump ${ns}/${run.spec.dump} spec.git.secretRef)`;
  const secret = await deps.client
    .get<KubeObject & { data?: Record<string, string> }>(kinds.secret, { namespace: ns, name: git.secretRef.name })
    .catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
  if (secret === undefined) return { missing: `${where} not found` };
  const data = secret.data ?? {};
  if (data.username !== undefined || data.password !== undefined) {
    if (data.username === undefined || data.password === undefined)
      return {
        missing: `${where} has ${data.username === undefined ? 'password but no username' : 'username but no password'}`,
      };
    return { kind: 'basic', data: { [moverEnv.gitUsername]: data.username, [moverEnv.gitPassword]: data.password } };
  }
  if (data.identity !== undefined)
    return {
      kind: 'ssh',
      data: {
        [moverEnv.gitSshKey]: data.identity,
        ...(data.known_hosts === undefined ? {} : { [moverEnv.gitKnownHosts]: data.known_hosts }),
      },
    };
  return { missing: `${where} has neither username and password nor identity` };
}
