// The coverage rows as a table for people (red and green on a terminal) and as
// JSON or YAML for programs.
import { createColors } from 'picocolors';
import { forPrograms, type OutputFormat } from './output-format.ts';
import { renderTable } from './table.ts';
import { age, coverageRecord, formatDuration, type CoverageRow, type ObjectsRow } from '../core/index.ts';

export function renderStatus(rows: readonly CoverageRow[], format: OutputFormat, now: Date, color: boolean): string {
  return forPrograms(format, rows.map(coverageRecord)) ?? table(rows, now, color);
}

function table(rows: readonly CoverageRow[], now: Date, color: boolean): string {
  const c = createColors(color);
  const header = [
    'NAMESPACE',
    'NAME',
    'SIZE',
    'CLASS',
    'MODE',
    'POLICY',
    'DECISION',
    'LAST BACKUP',
    'LAST RUN',
    'VERIFIED',
    'NEXT RUN',
    'REASON',
  ];
  const cells = rows.map((row) => {
    const d = row.decision;
    const decision = {
      protected: c.green('protected'),
      unbound: c.yellow('unbound'),
      excluded: c.yellow('excluded'),
      unprotected: c.red(c.bold('UNPROTECTED')),
    }[d.state];
    const last = age(row.lastBackup, now);
    const next =
      d.state === 'unbound'
        ? 'when bound'
        : row.nextRun === undefined
          ? '-'
          : `in ${formatDuration(Date.parse(row.nextRun) - now.getTime())}`;
    return [
      row.namespace,
      row.name,
      row.size,
      row.storageClass || '-',
      row.volumeMode,
      d.state === 'protected' || d.state === 'unbound' ? d.policy : '-',
      decision,
      last === undefined ? (d.state === 'protected' ? c.yellow('never') : '-') : `${last} ago`,
      lastRun(row, now, c.red),
      verified(row, now, c),
      next,
      d.reason,
    ];
  });
  return renderTable(header, cells);
}

/** The last restore drill: passed and how long ago, FAILED with its reason, never (protected), or '-'. */
function verified(row: CoverageRow, now: Date, c: ReturnType<typeof createColors>): string {
  const v = row.verification;
  if (v === undefined) return row.decision.state === 'protected' ? 'never' : '-';
  const when = age(v.at, now);
  const ago = when === undefined ? '' : ` ${when} ago`;
  if (v.verdict === 'Passed')
    return row.proof === 'overdue' ? c.yellow(`OVERDUE, passed${ago}`) : c.green(`passed${ago}`);
  return c.red(c.bold(`FAILED ${v.reason ?? ''}${ago}`));
}

/** FAILED with its reason and age when the last attempt failed, ok after a success, '-' before any run. */
function lastRun(row: CoverageRow, now: Date, red: (text: string) => string): string {
  const failure = row.lastFailure;
  if (failure === undefined) return row.lastBackup === undefined ? '-' : 'ok';
  const when = age(failure.at, now);
  return red(`FAILED ${failure.reason}${when === undefined ? '' : ` ${when} ago`}`);
}

/** The objects coverage rows: a table for people, the rows as they are for programs. */
export function renderObjectsStatus(
  rows: readonly ObjectsRow[],
  format: OutputFormat,
  now: Date,
  color: boolean,
): string {
  const printed = forPrograms(format, rows);
  if (printed !== undefined) return printed;
  const c = createColors(color);
  const cells = rows.map((row) => {
    const last = age(row.lastBackup, now);
    return [
      { Cluster: 'cluster', Namespace: 'namespace', Git: 'git', Bucket: 'bucket', Etcd: 'etcd' }[row.scope],
      row.scope === 'Cluster' || row.scope === 'Etcd' ? '-' : (row.namespace ?? '-'),
      row.scope === 'Git' || row.scope === 'Bucket' || (row.scope === 'Etcd' && row.url !== undefined)
        ? `${row.name ?? ''} (${row.url ?? ''})`
        : '-',
      { protected: c.green('protected'), excluded: c.yellow('excluded'), unprotected: c.red(c.bold('UNPROTECTED')) }[
        row.state
      ],
      row.dump ?? '-',
      last === undefined ? (row.state === 'protected' ? c.yellow('never') : '-') : `${last} ago`,
      row.nextRun === undefined ? '-' : `in ${formatDuration(Date.parse(row.nextRun) - now.getTime())}`,
      row.reason,
    ];
  });
  return renderTable(['SCOPE', 'NAMESPACE', 'SOURCE', 'DECISION', 'DUMP', 'LAST BACKUP', 'NEXT RUN', 'REASON'], cells);
}
