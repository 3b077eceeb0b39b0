// Times as the pages show them: relative ("3h ago", "in 20m") with the exact
// UTC time on hover, as the CLI's tables count them.
import { age, formatDuration } from '../core/index.ts';
import { html, type Html } from './html.ts';

/** "3h ago", or undefined when there is no time or it does not parse. */
export function ago(iso: string | undefined, now: Date): Html | undefined {
  const text = age(iso, now);
  return text === undefined || iso === undefined ? undefined : html`<span title="${exact(iso)}">${text} ago</span>`;
}

/** "in 20m" for a time to come. */
export function until(iso: string | undefined, now: Date): Html | undefined {
  const t = iso === undefined ? NaN : Date.parse(iso);
  return iso === undefined || Number.isNaN(t)
    ? undefined
    : html`<span title="${exact(iso)}">in ${formatDuration(t - now.getTime())}</span>`;
}

/** 2026-11-22 03:04 UTC. */
export function timeLabel(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function exact(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString();
}
