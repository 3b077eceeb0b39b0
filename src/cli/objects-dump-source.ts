// Where `safehold restore-resources` reads its objects file: a saved file
// (--file), or a download of an objects dump's file. A namespace's dump is the
// one in that namespace; the cluster-scoped objects' is the ApplicationDump
// with objects.scope Cluster in Safehold's namespace.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { dumpFileOf, type ApplicationDump } from '../api/index.ts';
import { isNotFound, kinds, type KubeClient } from '../kube/index.ts';
import { download } from './browse-commands.ts';
import type { CliDeps } from './program.ts';

/** A reason to restore nothing at all: the source cannot be read, or is not a whole objects file. */
export class Refused extends Error {
  override name = 'Refused';
}

export interface SourceOptions {
  dump?: string;
  backup?: string;
  asOf?: string;
  file?: string;
  timeout: number;
}

/** Whose objects: one namespace's, or (in Safehold's namespace) the cluster-scoped ones. */
export type ObjectsScope = { scope: 'Namespace'; namespace: string } | { scope: 'Cluster'; safeholdNamespace: string };

/** The objects file's text and how to name it; undefined when a download failed (said already). */
export async function readSource(
  program: Command,
  deps: CliDeps,
  whose: ObjectsScope,
  options: SourceOptions,
): Promise<{ text: string; what: string } | undefined> {
  if (options.file !== undefined) {
    try {
      return { text: await readFile(options.file, 'utf8'), what: options.file };
    } catch (error) {
      throw new Refused(
        `cannot read --file ${options.file}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const namespace = whose.scope === 'Namespace' ? whose.namespace : whose.safeholdNamespace;
  const client = deps.connect(program.opts());
  let dump: ApplicationDump;
  try {
    dump = await chooseDump(client, namespace, whose.scope, options.dump);
  } finally {
    client.close();
  }
  const ref = `${namespace}/${dump.metadata.name}`;
  const chunks: Uint8Array[] = [];
  const request = { ...options, path: `/${dumpFileOf(dump.spec)}`, what: 'file' as const, depth: 1, dump: true };
  const got = await download(program, deps, ref, request, async (body) => {
    for await (const chunk of body) chunks.push(chunk);
  });
  return got ? { text: Buffer.concat(chunks).toString('utf8'), what: `ApplicationDump ${ref}` } : undefined;
}

const scopeOf = (dump: ApplicationDump) => dump.spec.objects?.scope ?? 'Namespace';

/** The named objects dump, or the only one of that scope in the namespace. */
async function chooseDump(
  client: KubeClient,
  namespace: string,
  scope: ObjectsScope['scope'],
  name: string | undefined,
): Promise<ApplicationDump> {
  const cluster = scope === 'Cluster';
  const whose = cluster ? 'the cluster-scoped objects (objects.scope: Cluster)' : 'objects (spec.objects)';
  if (name !== undefined) {
    const dump = await client
      .get<ApplicationDump>(kinds.applicationDump, { namespace, name })
      .catch((error: unknown) => {
        if (isNotFound(error)) throw new Refused(`ApplicationDump ${namespace}/${name} not found`);
        throw error;
      });
    if (dump.spec.objects === undefined)
      throw new Refused(
        `ApplicationDump ${namespace}/${name} does not dump objects (spec.objects): read it with safehold dump --application ${namespace}/${name}`,
      );
    if (scopeOf(dump) !== scope)
      throw new Refused(
        cluster
          ? `ApplicationDump ${namespace}/${name} dumps namespace ${namespace}'s objects: restore them with restore-resources ${namespace} --dump ${name}`
          : `ApplicationDump ${namespace}/${name} dumps the cluster-scoped objects: restore them with restore-resources --cluster --dump ${name}`,
      );
    return dump;
  }
  const listed = await client.list<ApplicationDump>(kinds.applicationDump, { namespace });
  const objectDumps = listed.items.filter((d) => d.spec.objects !== undefined && scopeOf(d) === scope);
  const [only] = objectDumps;
  if (only === undefined)
    throw new Refused(
      cluster
        ? `no ApplicationDump in namespace ${namespace} dumps ${whose}: declare one (or a policy with spec.objects.cluster), give --file, or name Safehold's namespace with --safehold-namespace`
        : `no ApplicationDump in namespace ${namespace} dumps ${whose}: declare one, or give --file`,
    );
  if (objectDumps.length > 1)
    throw new Refused(
      `namespace ${namespace} has ${objectDumps.length} dumps of ${whose} (${objectDumps.map((d) => d.metadata.name).join(', ')}): choose one with --dump NAME`,
    );
  return only;
}
