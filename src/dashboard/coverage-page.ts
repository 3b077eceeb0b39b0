// The front page: every PVC, grouped by namespace, green when protected, grey
// when excluded (and by whom), red when UNPROTECTED (and why), with the age of
// its last good backup and its next run; the counts per namespace on top.
import { countDecisions, coverageRecord, type CoverageRow, type LeaderView } from '../core/index.ts';
import { failuresSection, recentFailures } from './failures-section.ts';
import { html, type Html } from './html.ts';
import { layout } from './layout.ts';
import { namespaceHref, volumeHref } from './paths.ts';
import { repositoriesSection } from './repositories-section.ts';
import { stateSection } from './state-section.ts';
import { ago, timeLabel, until } from './when.ts';

const failuresShown = 20;

/** The whole cluster, or one namespace of it. */
export function coveragePage(state: LeaderView, namespace: string | undefined): string {
  const rows = state.coverage
    .filter((r) => namespace === undefined || r.namespace === namespace)
    .toSorted((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const groups = Map.groupBy(rows, (r) => r.namespace);
  const failures = recentFailures(
    state.backups.filter((b) => namespace === undefined || b.metadata.namespace === namespace),
    state.restores.filter((r) => namespace === undefined || r.metadata.namespace === namespace),
    failuresShown,
  );
  const body = html`<h1>${namespace === undefined ? 'Coverage' : html`Coverage of namespace ${namespace}`}</h1>
    ${namespace === undefined ? '' : html`<p><a href="/">All namespaces</a></p>`} ${totals(rows)}
    ${rows.length === 0 ? html`<p class="muted">No PersistentVolumeClaims${namespace === undefined ? '' : ` in ${namespace}`}.</p>` : namespaceCounts(groups)}
    ${[...groups].map(([ns, members]) => namespaceTable(ns, members, state.now))}
    ${stateSection(state.state, state.now, namespace)} ${failuresSection(failures, state.now)}
    ${repositoriesSection(state.repositories, state.now)}`;
  return layout('Coverage', meta(state), body);
}

export function meta(state: LeaderView): string {
  return `${timeLabel(state.now.getTime())} · replica ${state.identity}`;
}

function totals(rows: readonly CoverageRow[]): Html {
  const counts = countDecisions(rows);
  return html`<div class="tiles">
    <div class="tile protected"><strong>${counts.protected}</strong>protected</div>
    ${counts.unbound > 0 ? html`<div class="tile unbound"><strong>${counts.unbound}</strong>unbound</div>` : html``}
    <div class="tile excluded"><strong>${counts.excluded}</strong>excluded</div>
    <div class="tile ${counts.unprotected > 0 ? 'unprotected' : ''}">
      <strong>${counts.unprotected}</strong>UNPROTECTED
    </div>
  </div>`;
}

function namespaceCounts(groups: ReadonlyMap<string, readonly CoverageRow[]>): Html {
  const lines = [...groups].map(([ns, members]) => {
    const counts = countDecisions(members);
    return html`<tr class="${counts.unprotected > 0 ? 'unprotected' : ''}">
      <td><a href="${namespaceHref(ns)}">${ns}</a></td>
      <td class="num">${counts.protected}</td>
      <td class="num">${counts.unbound}</td>
      <td class="num">${counts.excluded}</td>
      <td class="num ${counts.unprotected > 0 ? 'bad' : ''}">${counts.unprotected}</td>
    </tr>`;
  });
  return html`<table class="counts">
    <thead>
      <tr>
        <th>Namespace</th>
        <th class="num">Protected</th>
        <th class="num">Unbound</th>
        <th class="num">Excluded</th>
        <th class="num">Unprotected</th>
      </tr>
    </thead>
    <tbody>
      ${lines}
    </tbody>
  </table>`;
}

function namespaceTable(namespace: string, rows: readonly CoverageRow[], now: Date): Html {
  return html`<h2 id="ns-${namespace}">${namespace}</h2>
    ${volumeTable(rows, now)}`;
}

export function volumeTable(rows: readonly CoverageRow[], now: Date): Html {
  return html`<table>
    <thead>
      <tr>
        <th>PVC</th>
        <th>Size</th>
        <th>Class</th>
        <th>Mode</th>
        <th>Policy</th>
        <th>Decision</th>
        <th>Last backup</th>
        <th>Verified</th>
        <th>Next run</th>
        <th>Why</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map((r) => volumeRow(r, now))}
    </tbody>
  </table>`;
}

/** One PVC: its row's class (protected, unbound, excluded, unprotected) is what colours it. */
function volumeRow(row: CoverageRow, now: Date): Html {
  const record = coverageRecord(row);
  const d = row.decision;
  const last = ago(row.lastBackup, now) ?? (d.state === 'protected' ? html`<span class="warn">never</span>` : html`-`);
  return html`<tr class="${d.state}" data-volume="${row.namespace}/${row.name}">
    <td><a href="${volumeHref(row.namespace, row.name)}">${row.name}</a></td>
    <td>${row.size}</td>
    <td>${row.storageClass || '-'}</td>
    <td>${row.volumeMode}</td>
    <td>${record.policy ?? '-'}</td>
    <td class="decision">${record.decision}</td>
    <td>${last}</td>
    <td class="verified">${verified(row, now)}</td>
    <td>${d.state === 'unbound' ? 'when bound' : (until(row.nextRun, now) ?? '-')}</td>
    <td class="message">${why(row)}</td>
  </tr>`;
}

/** The last restore drill: passed and when, FAILED with its reason (red), never for a protected volume. */
function verified(row: CoverageRow, now: Date): Html {
  const v = row.verification;
  if (v === undefined) return row.decision.state === 'protected' ? html`<span class="warn">never</span>` : html`-`;
  if (v.verdict === 'Passed')
    return row.proof === 'overdue'
      ? html`<span class="warn">overdue</span>, passed ${ago(v.at, now) ?? ''}`
      : html`passed ${ago(v.at, now) ?? ''}`;
  return html`<strong class="bad" title="${v.message ?? ''}">FAILED ${v.reason ?? ''}</strong> ${ago(v.at, now) ?? ''}`;
}

/** The rule behind the decision (who excluded it says who); for an UNPROTECTED or unbound volume its cause first. */
export function why(row: CoverageRow): Html {
  const d = row.decision;
  if (d.state === 'unbound') return html`<strong class="warn">${d.cause}</strong>: ${d.reason}`;
  return d.state === 'unprotected' ? html`<strong class="bad">${d.cause}</strong>: ${d.reason}` : html`${d.reason}`;
}
