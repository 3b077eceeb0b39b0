// One volume's page: its decision as on the front page, two charts (bytes per
// backup, time per backup) and every run of it, newest first, with the message
// of each one that failed.
import { formatBytes, formatDuration, type LeaderView } from '../core/index.ts';
import { backupHistory, type HistoryEntry } from './backup-history.ts';
import { lineChart } from './chart.ts';
import { meta, volumeTable } from './coverage-page.ts';
import { html, type Html } from './html.ts';
import { layout } from './layout.ts';
import { namespaceHref } from './paths.ts';
import { ago } from './when.ts';

/** The page of namespace/pvc; undefined when there is neither such a PVC nor any backup of it. */
export function volumePage(state: LeaderView, namespace: string, pvc: string): string | undefined {
  const row = state.coverage.find((r) => r.namespace === namespace && r.name === pvc);
  const history = backupHistory(state.backups, namespace, pvc);
  if (row === undefined && history.length === 0) return undefined;
  const done = history.filter((e) => e.phase === 'Succeeded').toReversed();
  const decision =
    row === undefined
      ? html`<p class="warn">The PVC no longer exists; its backups stay until retention lets them go.</p>`
      : volumeTable([row], state.now);
  const charts = html`<div class="charts">
    ${lineChart(
      'Bytes per backup',
      [
        { name: 'processed', points: points(done, (e) => e.bytesProcessed) },
        { name: 'added', points: points(done, (e) => e.bytesAdded) },
      ],
      formatBytes,
    )}${lineChart('Duration per backup', [{ name: 'duration', points: points(done, (e) => e.durationMs) }], formatDuration)}
  </div>`;
  const body = html`<p><a href="${namespaceHref(namespace)}">${namespace}</a></p>
    <h1>${namespace}/${pvc}</h1>
    ${decision}
    <h2>History</h2>
    ${charts} ${history.length === 0 ? html`<p class="muted">No backups yet.</p>` : historyTable(history, state.now)}`;
  return layout(`${namespace}/${pvc}`, meta(state), body);
}

function points(entries: readonly HistoryEntry[], value: (entry: HistoryEntry) => number | undefined) {
  return entries.flatMap((e) => {
    const v = value(e);
    return v === undefined ? [] : [{ time: e.time, value: v }];
  });
}

function historyTable(history: readonly HistoryEntry[], now: Date): Html {
  const rows = history.map((e) => {
    const result =
      e.phase === 'Succeeded'
        ? html`<span class="good">Succeeded</span>`
        : e.phase === 'Failed'
          ? html`<span class="bad">Failed</span> ${e.reason ?? ''}`
          : html`<span class="muted">${e.phase}</span> ${e.reason ?? ''}`;
    const bytes = (n: number | undefined) => (n === undefined ? '-' : formatBytes(n));
    return html`<tr class="${e.phase === 'Failed' ? 'failed' : ''}" data-backup="${e.name}">
      <td>${ago(e.startTime, now) ?? '-'}</td>
      <td>${result}</td>
      <td>${e.trigger}</td>
      <td>${e.method ?? '-'}</td>
      <td class="num">${bytes(e.bytesAdded)}</td>
      <td class="num">${bytes(e.bytesProcessed)}</td>
      <td class="num">${e.files ?? '-'}</td>
      <td class="num">${e.durationMs === undefined ? '-' : formatDuration(e.durationMs)}</td>
      <td><code>${e.snapshotId?.slice(0, 8) ?? '-'}</code></td>
      <td class="message">${e.phase === 'Failed' ? (e.message ?? '') : e.name}</td>
    </tr>`;
  });
  return html`<table>
    <thead>
      <tr>
        <th>Started</th>
        <th>Result</th>
        <th>Trigger</th>
        <th>Method</th>
        <th class="num">Added</th>
        <th class="num">Processed</th>
        <th class="num">Files</th>
        <th class="num">Duration</th>
        <th>Snapshot</th>
        <th>Run / message</th>
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}
