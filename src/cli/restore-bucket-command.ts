// `safehold restore-bucket [NS/]DUMP [--backup NAME|ID | --at TIME] [--prefix P]
// [--into-bucket B] [--secret S] [--delete-newer] [--wait]`: creates a
// BucketRestore (the same object a tenant could write with kubectl) beside
// the bucket dump and, with --wait, follows it to the end and prints what was
// written, left alone and deleted.
import type { Command } from 'commander';
import { bucketRestoreSpec, type ApplicationDump, type BucketRestore, type BucketRestoreSpec } from '../api/index.ts';
import { isNotFound, kinds } from '../kube/index.ts';
import { parseVolumeRef } from './backup-command.ts';
import { followRun } from './follow-run.ts';
import type { CliDeps } from './program.ts';
import { timeoutOption } from './wait-deadline.ts';

interface RestoreBucketOptions {
  namespace?: string;
  backup?: string;
  at?: string;
  prefix?: string;
  intoBucket?: string;
  intoEndpoint?: string;
  secret?: string;
  deleteNewer?: boolean;
  wait?: boolean;
  timeout: number;
}

export function addRestoreBucketCommand(program: Command, deps: CliDeps): void {
  program
    .command('restore-bucket')
    .description(
      'put a bucket (or the keys under a prefix) back as one of its dumps stored it, creating a BucketRestore: objects that differ are written with their content type and metadata',
    )
    .argument('<[namespace/]dump>', 'the ApplicationDump with spec.bucket, e.g. team-a/photos')
    .option('-n, --namespace <namespace>', "the dump's namespace, when the argument does not name it")
    .option('--backup <name|id>', 'a DumpRun name or snapshot id (default: the newest stored dump)')
    .option('--at <time>', 'the newest dump stored at or before this time (RFC 3339)')
    .option('--prefix <prefix>', 'only the keys that start with this (default: every key the dump holds)')
    .option('--into-bucket <bucket>', "write into this bucket instead of the dump's own")
    .option('--into-endpoint <url>', "that bucket's S3 endpoint (default: the dump's)")
    .option(
      '--secret <name>',
      "a Secret in the dump's namespace with accessKeyId and secretAccessKey of a user that may write the bucket (default: the dump's own spec.bucket.secretRef)",
    )
    .option('--delete-newer', 'also delete the objects under the prefix that the dump does not hold')
    .option('--wait', 'follow the restore until it ends; exit 1 if it fails')
    .addOption(timeoutOption('with --wait: give up following the restore after this long', '6h'))
    .action(async (ref: string, options: RestoreBucketOptions) => {
      const client = deps.connect(program.opts());
      try {
        const dumpRef = parseVolumeRef(ref, options.namespace ?? client.defaultNamespace);
        if (dumpRef === undefined) program.error(`error: "${ref}" is not [NAMESPACE/]APPLICATIONDUMP`, { exitCode: 2 });
        if (options.at !== undefined && options.backup !== undefined)
          program.error('error: give --at or --backup, not both', { exitCode: 2 });
        const { namespace, name: dump } = dumpRef;
        let secret = options.secret;
        if (secret === undefined) {
          const declared = await client
            .get<ApplicationDump>(kinds.applicationDump, { namespace, name: dump })
            .catch((error: unknown) => {
              if (isNotFound(error)) return undefined;
              throw error;
            });
          if (declared === undefined)
            program.error(`error: ApplicationDump ${namespace}/${dump} not found`, { exitCode: 1 });
          secret = declared.spec.bucket?.secretRef.name;
          if (secret === undefined)
            program.error(`error: ApplicationDump ${namespace}/${dump} is not a bucket dump (it has no spec.bucket)`, {
              exitCode: 1,
            });
        }
        const into = {
          ...(options.intoBucket === undefined ? {} : { bucket: options.intoBucket }),
          ...(options.intoEndpoint === undefined ? {} : { endpoint: options.intoEndpoint }),
        };
        const spec: BucketRestoreSpec = {
          dump,
          backup: options.backup ?? 'latest',
          ...(options.at === undefined ? {} : { asOf: options.at }),
          ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
          ...(Object.keys(into).length === 0 ? {} : { into }),
          secretRef: { name: secret },
          deleteNewer: options.deleteNewer === true,
        };
        // The operator says the same, on the object; said here it costs no round trip.
        const checked = bucketRestoreSpec.safeParse(spec);
        if (!checked.success) {
          const flags: Record<string, string> = {
            asOf: '--at',
            prefix: '--prefix',
            'into.bucket': '--into-bucket',
            'into.endpoint': '--into-endpoint',
          };
          const problems = checked.error.issues.map((i) => {
            const path = i.path.join('.');
            return `${flags[path] ?? path}: ${i.message}`;
          });
          program.error(`error: ${problems.join('; ')}`, { exitCode: 2 });
        }
        const created = await client.create<BucketRestore>(kinds.bucketRestore, {
          metadata: { generateName: `${dump.slice(0, 40)}-restore-`, namespace },
          spec,
        } as never);
        const name = created.metadata.name;
        deps.stdout(`bucketrestore ${namespace}/${name} created\n`);
        if (options.wait !== true) return;
        const final = await followRun(
          deps,
          `BucketRestore ${namespace}/${name}`,
          options.timeout,
          () => client.get<BucketRestore>(kinds.bucketRestore, { namespace, name }),
          (restore, phase) => ({
            percent: phase === 'Succeeded' ? 100 : 0,
            message: restore.status?.message ?? '',
          }),
        );
        const status = final.status ?? {};
        if (status.phase === 'Succeeded') {
          const counts = status.objects ?? { written: 0, unchanged: 0, deleted: 0 };
          const keys = status.target?.prefix === undefined ? '' : ` (keys under "${status.target.prefix}")`;
          deps.stdout(
            `Succeeded: bucket ${status.target?.bucket ?? '?'}${keys} is as of ${status.backup?.snapshotTime ?? '?'} (DumpRun ${status.backup?.run ?? '?'}, snapshot ${status.backup?.snapshotId.slice(0, 8) ?? '?'})\n` +
              `${counts.written} written, ${counts.unchanged} unchanged, ${counts.deleted} deleted\n`,
          );
        } else {
          deps.stderr(`Failed: ${status.reason ?? ''}: ${status.message ?? ''}\n`);
          deps.setExitCode(1);
        }
      } finally {
        client.close();
      }
    });
}
