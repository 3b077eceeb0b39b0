// "The cluster's state": besides the volumes, each namespace's API objects,
// the cluster-scoped objects, each GitOps repository and each bucket of the
// object store, green when a dump stores it, grey when excluded, red when
// UNPROTECTED (and why), with the age of its last good dump and its next run.
// The rows are objectsCoverage's, as `safehold status --objects` shows them.
import type { ObjectsRow } from '../core/index.ts';
import { html, type Html } from './html.ts';
import { ago, until } from './when.ts';

const scopeNames: Record<string, string> = {
  Namespace: 'namespace objects',
  Cluster: 'cluster-scoped objects',
  Git: 'Git repository',
  Bucket: 'bucket',
  Etcd: 'etcd',
};

/** Only the rows of one namespace when the page shows one (the cluster's own rows then stay out). */
export function stateSection(rows: readonly ObjectsRow[], now: Date, namespace: string | undefined): Html {
  const shown = rows.filter(
    (r) => namespace === undefined || (r.scope !== 'Cluster' && r.scope !== 'Etcd' && r.namespace === namespace),
  );
  if (shown.length === 0) return html``;
  const unprotected = shown.filter((r) => r.state === 'unprotected').length;
  return html`<h2 id="state">The cluster's state</h2>
    <p class="${unprotected > 0 ? 'bad' : 'muted'}">
      ${unprotected > 0 ? `${unprotected} UNPROTECTED` : 'Every part is protected or excluded.'}
    </p>
    <table class="state">
      <thead>
        <tr>
          <th>What</th>
          <th>Namespace</th>
          <th>Source</th>
          <th>Decision</th>
          <th>Dump</th>
          <th>Last backup</th>
          <th>Next run</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        ${shown.map((r) => stateRow(r, now))}
      </tbody>
    </table>`;
}

function stateRow(row: ObjectsRow, now: Date): Html {
  const last =
    ago(row.lastBackup, now) ?? (row.state === 'protected' ? html`<span class="warn">never</span>` : html`-`);
  const source = row.name === undefined ? '-' : row.url === undefined ? row.name : `${row.name} (${row.url})`;
  return html`<tr class="${row.state}" data-state="${row.scope}/${row.namespace ?? ''}/${row.name ?? ''}">
    <td>${scopeNames[row.scope] ?? row.scope}</td>
    <td>${row.namespace ?? '-'}</td>
    <td>${source}</td>
    <td class="decision">${row.state === 'unprotected' ? 'UNPROTECTED' : row.state}</td>
    <td>${row.dump ?? '-'}</td>
    <td>${last}</td>
    <td>${until(row.nextRun, now) ?? '-'}</td>
    <td class="message">
      ${row.state === 'unprotected' ? html`<strong class="bad">${row.reason}</strong>` : row.reason}
    </td>
  </tr>`;
}
