// The time a backup's data was captured, as the mover hands it to an engine:
// the task's RFC 3339 instant in UTC, "YYYY-MM-DD HH:MM:SS" and the fraction
// as written. restic reads it (`--time`) in its process's own time zone, which
// the mover sets to UTC, so the zone the mover image happens to have never
// shifts a snapshot.

// z.iso.datetime({ offset: true }): a fraction of any length, then Z or ±HH:MM.
const rfc3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** The instant in UTC, as engines take it; undefined when it is not an RFC 3339 instant. */
export function utcSnapshotTime(instant: string): string | undefined {
  const match = rfc3339.exec(instant);
  if (match === null) return undefined;
  const [, seconds = '', fraction = '', offset = ''] = match;
  // Date keeps milliseconds only: shift the whole seconds, carry the fraction over as written.
  const utc = new Date(`${seconds}${offset}`);
  if (Number.isNaN(utc.getTime())) return undefined;
  return `${utc.toISOString().slice(0, 19).replace('T', ' ')}${fraction}`;
}
