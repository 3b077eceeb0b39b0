// "Repositories": each BackupRepository and, per tenant (one restic repository
// per namespace, or the shared one), what its last check and prune found, and
// whether its last probe found it usable (Ready).
import type { BackupRepositoryStatus, TenantHealth } from '../api/index.ts';
import { formatBytes, type RepositoryView } from '../core/index.ts';
import { html, type Html } from './html.ts';
import { ago } from './when.ts';

export function repositoriesSection(repositories: readonly RepositoryView[], now: Date): Html {
  const rows = [...repositories]
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((repository) => {
      const tenants = repository.status.tenants ?? [];
      const lastBackup = ago(repository.status.lastBackupTime, now) ?? '-';
      const ready = readiness(repository.status);
      if (tenants.length === 0)
        return [
          html`<tr>
            <td>${repository.name}</td>
            <td class="muted">-</td>
            <td colspan="5" class="muted">not checked or pruned yet</td>
            <td>${lastBackup}</td>
            <td class="message">${ready}</td>
          </tr>`,
        ];
      return tenants.map(
        (tenant) =>
          html`<tr>
            <td>${repository.name}</td>
            <td>${tenant.tenant || '(shared)'}</td>
            <td>${ago(tenant.lastCheckTime, now) ?? '-'}</td>
            <td class="message">${checkResult(tenant)}</td>
            <td>${ago(tenant.lastPruneTime, now) ?? '-'}</td>
            <td class="num">${tenant.snapshots ?? '-'}</td>
            <td class="num">${tenant.bytes === undefined ? '-' : formatBytes(tenant.bytes)}</td>
            <td>${lastBackup}</td>
            <td class="message">${ready}</td>
          </tr>`,
      );
    });
  const body =
    rows.length === 0
      ? html`<p class="muted">No BackupRepository.</p>`
      : html`<table>
          <thead>
            <tr>
              <th>Repository</th>
              <th>Tenant</th>
              <th>Last check</th>
              <th>Check</th>
              <th>Last prune</th>
              <th class="num">Snapshots</th>
              <th class="num">Size</th>
              <th>Last backup</th>
              <th>Ready</th>
            </tr>
          </thead>
          <tbody>
            ${rows}
          </tbody>
        </table>`;
  return html`<section id="repositories">
    <h2>Repositories</h2>
    ${body}
  </section>`;
}

function checkResult(tenant: TenantHealth): Html {
  if (tenant.checkOk === undefined) return html`<span class="muted">not checked yet</span>`;
  return tenant.checkOk
    ? html`<span class="good">ok</span>`
    : html`<span class="bad">failed</span>${tenant.checkMessage === undefined ? '' : `: ${tenant.checkMessage}`}`;
}

function readiness(status: BackupRepositoryStatus): Html {
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  if (ready === undefined) return html`<span class="muted">not probed yet</span>`;
  return ready.status === 'True'
    ? html`<span class="good">${ready.reason}</span>`
    : html`<span class="bad">${ready.reason}</span>: ${ready.message ?? ''}`;
}
