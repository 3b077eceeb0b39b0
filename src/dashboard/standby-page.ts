// What a replica that cannot show the cluster says instead: a standby has no
// caches (only the leader watches), and a new leader has not read it all yet.
import { html } from './html.ts';
import { layout } from './layout.ts';

export function standbyPage(state: { role: 'standby' | 'starting'; identity: string }): string {
  const text =
    state.role === 'standby'
      ? html`<p>
          This replica (${state.identity}) is standing by: another replica holds the lease, watches the cluster and
          serves this page. The Service sends you to the ready replica, which is the leader; a port-forward to this Pod
          reaches only this one.
        </p>`
      : html`<p>
          This replica (${state.identity}) has just become the leader and is reading the cluster; the page appears once
          every volume has a decision.
        </p>`;
  return layout(
    'Standing by',
    `replica ${state.identity}`,
    html`<h1>${state.role === 'standby' ? 'Standing by' : 'Starting'}</h1>
      ${text}`,
  );
}
