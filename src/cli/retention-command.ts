// `safehold retention preview [NS/PVC]`: every backup of each volume with keep
// or drop and the rule that kept it, from the same plan the operator's next
// maintenance would carry out.
import type { Command } from 'commander';
import { createColors } from 'picocolors';
import { age } from '../core/index.ts';
import { loadPlans } from './volume-plans.ts';
import { forPrograms, outputOption, type OutputFormat } from './output-format.ts';
import type { CliDeps } from './program.ts';
import { renderTable } from './table.ts';

interface PreviewOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output: OutputFormat;
}

export function addRetentionCommand(program: Command, deps: CliDeps): void {
  const retention = program.command('retention').description('grandfather-father-son retention of backups');
  retention
    .command('preview')
    .argument('[volume]', 'NAMESPACE/PVC, or PVC in the current namespace')
    .description('show each backup with keep or drop and the rule that kept it, as the next prune would apply them')
    .option('-n, --namespace <namespace>', 'only this namespace')
    .option('-A, --all-namespaces', 'every namespace')
    .addOption(outputOption())
    .action(async (volume: string | undefined, options: PreviewOptions) => {
      const client = deps.connect(program.opts());
      try {
        const now = deps.now();
        const { plans, unreadable } = await loadPlans(client, volume, options, now);
        if (unreadable.length > 0) {
          // A preview from built-in defaults would look real and be wrong: refuse, naming what is missing.
          deps.stderr(
            `error: cannot preview retention: you may not list BackupPolicies, and the rules of ${unreadable.join(', ')} cannot be read; a cluster admin can run this preview, or grant you get on backuppolicies.safehold.io\n`,
          );
          deps.setExitCode(1);
          return;
        }
        const records = plans.flatMap((p) =>
          p.verdicts.map((v) => ({
            namespace: p.namespace,
            pvc: p.pvc,
            policy: p.policy ?? '(defaults)',
            rules: p.rules,
            snapshot: v.entry.id.slice(0, 8),
            time: v.entry.time.toISOString(),
            verdict: v.keep ? 'keep' : 'drop',
            reasons: v.reasons,
            ...(p.error === undefined ? {} : { error: p.error }),
          })),
        );
        const printed = forPrograms(options.output, records);
        if (printed !== undefined) return deps.stdout(printed);
        if (records.length === 0) return deps.stdout('No backups.\n');
        const c = createColors(deps.color);
        for (const plan of plans) {
          const note =
            plan.error ??
            (plan.orphanGraceUntil === undefined
              ? ''
              : `PVC deleted; all kept until ${plan.orphanGraceUntil.toISOString()}`);
          deps.stdout(
            `${plan.namespace}/${plan.pvc}: policy ${plan.policy ?? '(defaults)'}, ${plan.rules || 'no rules'}${note === '' ? '' : `; ${note}`}\n`,
          );
          deps.stdout(
            renderTable(
              ['SNAPSHOT', 'TIME', 'AGE', 'VERDICT', 'KEPT BY'],
              plan.verdicts.map((v) => [
                v.entry.id.slice(0, 8),
                v.entry.time.toISOString(),
                age(v.entry.time.toISOString(), now) ?? '',
                v.keep ? c.green('keep') : c.red('drop'),
                v.reasons.join(', '),
              ]),
            ),
          );
        }
      } finally {
        client.close();
      }
    });
}
