// restic records the time a backup's data was captured from `--time`, which it
// reads as "YYYY-MM-DD HH:MM:SS" in the process's own time zone. The mover runs
// restic with TZ=UTC and hands it the instant in UTC, so the zone the mover
// image happens to have never shifts a snapshot.

// z.iso.datetime({ offset: true }): a fraction of any length, then Z or ±HH:MM.
const rfc3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** The `--time` value for an RFC 3339 instant, read in UTC; undefined when it is not one. */
export function resticTime(instant: string): string | undefined {
  const match = rfc3339.exec(instant);
  if (match === null) return undefined;
  const [, seconds = '', fraction = '', offset = ''] = match;
  // Date keeps milliseconds only: shift the whole seconds, carry the fraction over as written.
  const utc = new Date(`${seconds}${offset}`);
  if (Number.isNaN(utc.getTime())) return undefined;
  return `${utc.toISOString().slice(0, 19).replace('T', ' ')}${fraction}`;
}
