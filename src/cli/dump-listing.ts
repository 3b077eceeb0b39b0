// `safehold backups --application [NS/DUMP]`: the stored application dumps
// (succeeded DumpRuns), newest first: the run's name (what `safehold dump
// --application --backup` takes), its snapshot, when it was taken, its size,
// the Pod it came from. Reads only DumpRuns, so a tenant can run it in their
// namespace.
import type { DumpRun } from '../api/index.ts';
import { age, dumpCatalogue, formatBytes } from '../core/index.ts';
import { kinds, type KubeClient } from '../kube/index.ts';
import { parseVolumeRef } from './backup-command.ts';
import { forPrograms, type OutputFormat } from './output-format.ts';
import { renderTable } from './table.ts';

export async function dumpListing(
  client: KubeClient,
  ref: string | undefined,
  options: { namespace?: string | undefined; allNamespaces?: boolean | undefined; output: OutputFormat },
  now: Date,
): Promise<string> {
  const parsed = ref === undefined ? undefined : parseVolumeRef(ref, options.namespace ?? client.defaultNamespace);
  if (ref !== undefined && parsed === undefined) throw new Error(`"${ref}" is not NAMESPACE/APPLICATIONDUMP`);
  const namespace =
    parsed?.namespace ?? (options.allNamespaces === true ? undefined : (options.namespace ?? client.defaultNamespace));
  const runs = await client.list<DumpRun>(kinds.dumpRun, namespace === undefined ? {} : { namespace });
  const byName = new Map(runs.items.map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r]));
  const rows = dumpCatalogue(runs.items)
    .filter((b) => parsed === undefined || b.spec.pvc === parsed.name)
    .map((b) => {
      const run = byName.get(`${b.metadata.namespace}/${b.metadata.name}`);
      const time = b.status?.snapshotTime ?? '';
      return {
        namespace: b.metadata.namespace,
        dump: b.spec.pvc,
        name: b.metadata.name,
        snapshot: (b.status?.snapshotId ?? '').slice(0, 8),
        time,
        age: age(time, now) ?? '',
        size: run?.status?.bytes,
        file: run?.status?.fileName ?? '',
        pod: run?.status?.pod ?? '',
      };
    })
    .sort((a, b) => b.time.localeCompare(a.time));
  const printed = forPrograms(options.output, rows);
  if (printed !== undefined) return printed;
  if (rows.length === 0) return 'No application dumps.\n';
  return renderTable(
    ['NAMESPACE', 'DUMP', 'BACKUP', 'SNAPSHOT', 'TIME', 'AGE', 'SIZE', 'FILE', 'POD'],
    rows.map((r) => [
      r.namespace,
      r.dump,
      r.name,
      r.snapshot,
      r.time,
      r.age,
      r.size === undefined ? '' : formatBytes(r.size),
      r.file,
      r.pod,
    ]),
  );
}
