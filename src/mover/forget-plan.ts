// Which of the snapshots a maintenance task names are still there. The
// controller names them by full id or by a prefix of at least 8 digits; one
// that is gone was forgotten by an earlier run that stopped half way, so it
// counts as done. A prefix that fits two snapshots stops the run: forgetting
// both could drop a snapshot retention keeps.

export type ForgetPlan =
  | {
      ok: true;
      /** Full ids of the named snapshots that are there, each once. */
      present: string[];
      /** The names that fit no snapshot. */
      gone: string[];
    }
  | { ok: false; ambiguous: { name: string; matches: number }[] };

export function planForget(named: readonly string[], existing: readonly string[]): ForgetPlan {
  const present = new Set<string>();
  const gone: string[] = [];
  const ambiguous: { name: string; matches: number }[] = [];
  for (const name of new Set(named)) {
    const matches = existing.filter((id) => id.startsWith(name));
    if (matches.length > 1) ambiguous.push({ name, matches: matches.length });
    else if (matches[0] === undefined) gone.push(name);
    else present.add(matches[0]);
  }
  return ambiguous.length > 0 ? { ok: false, ambiguous } : { ok: true, present: [...present], gone };
}
