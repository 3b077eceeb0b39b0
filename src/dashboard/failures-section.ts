// "Recent failures": the VolumeBackups and VolumeRestores that ended Failed,
// newest first, each with the message that says what to fix.
import type { VolumeBackup, VolumeRestore } from '../api/index.ts';
import { html, type Html } from './html.ts';
import { volumeHref } from './paths.ts';
import { ago } from './when.ts';

export interface Failure {
  kind: 'VolumeBackup' | 'VolumeRestore';
  namespace: string;
  name: string;
  /** The volume it backed up or restored from. */
  volume: { namespace: string; pvc: string };
  time: string | undefined;
  reason: string;
  message: string;
}

export function recentFailures(
  backups: readonly VolumeBackup[],
  restores: readonly VolumeRestore[],
  limit: number,
): Failure[] {
  const ended = (status: { completionTime?: string; startTime?: string } | undefined, created?: string) =>
    status?.completionTime ?? status?.startTime ?? created;
  const failures: Failure[] = [
    ...backups
      .filter((b) => b.status?.phase === 'Failed')
      .map((b) => ({
        kind: 'VolumeBackup' as const,
        namespace: b.metadata.namespace,
        name: b.metadata.name,
        volume: { namespace: b.metadata.namespace, pvc: b.spec.pvc },
        time: ended(b.status, b.metadata.creationTimestamp),
        reason: b.status?.reason ?? '',
        message: b.status?.message ?? '',
      })),
    ...restores
      .filter((r) => r.status?.phase === 'Failed')
      .map((r) => ({
        kind: 'VolumeRestore' as const,
        namespace: r.metadata.namespace,
        name: r.metadata.name,
        volume: { namespace: r.spec.source.namespace ?? r.metadata.namespace, pvc: r.spec.source.pvc },
        time: ended(r.status, r.metadata.creationTimestamp),
        reason: r.status?.reason ?? '',
        message: r.status?.message ?? '',
      })),
  ];
  const at = (f: Failure) => (f.time === undefined ? 0 : Date.parse(f.time) || 0);
  return failures.sort((a, b) => at(b) - at(a)).slice(0, limit);
}

export function failuresSection(failures: readonly Failure[], now: Date): Html {
  const body =
    failures.length === 0
      ? html`<p class="muted">No failed backups or restores.</p>`
      : html`<table>
          <thead>
            <tr>
              <th>When</th>
              <th>Kind</th>
              <th>Object</th>
              <th>Volume</th>
              <th>Reason</th>
              <th>Message</th>
            </tr>
          </thead>
          <tbody>
            ${failures.map(
              (f) =>
                html`<tr class="failed">
                  <td>${ago(f.time, now) ?? '-'}</td>
                  <td>${f.kind}</td>
                  <td>${f.namespace}/${f.name}</td>
                  <td>
                    <a href="${volumeHref(f.volume.namespace, f.volume.pvc)}">${f.volume.namespace}/${f.volume.pvc}</a>
                  </td>
                  <td class="bad">${f.reason}</td>
                  <td class="message">${f.message}</td>
                </tr>`,
            )}
          </tbody>
        </table>`;
  return html`<section id="failures">
    <h2>Recent failures</h2>
    ${body}
  </section>`;
}
