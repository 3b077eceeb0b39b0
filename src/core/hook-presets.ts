// Ready-made hooks: the commands a preset's pre and post hooks run in the
// application's container. A pre hook must return for the snapshot to be
// taken, so a pause that lasts across it is held by a session the pre hook
// leaves running in the background; the post hook ends that session and
// waits until it has. The session ends by itself after holdLimitSeconds if
// no post hook comes (an operator that died between the two).
import type { HookPreset } from '../api/index.ts';

export const holdLimitSeconds = 600;

/** The folder a held session keeps its state in, in the container's temporary folder. */
const holdDir = (preset: HookPreset) => `"\${TMPDIR:-/tmp}/safehold-${preset}-hold"`;

const paused = 'safehold: writes paused';

/**
 * PostgreSQL: CHECKPOINT (the snapshot has little WAL to replay), then a
 * transaction that takes a SHARE lock on every table of the database and
 * stays open: reads go on, writes wait. Taking the locks is tried three times
 * (lock_timeout 10 s each; a deadlock with the application ends an attempt).
 * The session's own exit status goes to a file: the background shell always
 * exits 0, so whichever process reaps it (the container's first process may
 * be the database server) sees nothing amiss.
 */
function postgresql(): { pre: string; post: string } {
  const dir = holdDir('postgresql');
  const env = [
    'export PGUSER="${PGUSER:-${POSTGRES_USER:-postgres}}"',
    'if [ -z "${PGPASSWORD:-}" ] && [ -n "${POSTGRES_PASSWORD:-}" ]; then export PGPASSWORD="$POSTGRES_PASSWORD"; fi',
    'export PGDATABASE="${PGDATABASE:-${POSTGRES_DB:-$PGUSER}}"',
  ];
  const tables = "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')";
  const sql = [
    "SET lock_timeout = '10s';",
    'BEGIN;',
    `DO $safehold$ DECLARE t record; BEGIN FOR t IN SELECT schemaname, tablename ${tables} ORDER BY 1, 2 LOOP EXECUTE format('LOCK TABLE %I.%I IN SHARE MODE', t.schemaname, t.tablename); END LOOP; END $safehold$;`,
    `SELECT '${paused} on ' || count(*) || ' tables of database ' || current_database() ${tables};`,
  ];
  const pre = [
    'set -u',
    `d=${dir}`,
    ...env,
    'if [ -e "$d/session" ] && [ ! -e "$d/exit" ]; then echo "writes are paused already ($d): a post hook has not run" >&2; exit 1; fi',
    'rm -rf "$d" && mkdir -p "$d" || exit 1',
    'psql -X -q -v ON_ERROR_STOP=1 -c CHECKPOINT || exit 1',
    'for attempt in 1 2 3; do',
    '  rm -f "$d/out" "$d/exit" "$d/resume"',
    '  (',
    `    { printf '%s\\n' ${sql.map((line) => `'${line.replaceAll("'", "'\\''")}'`).join(' ')}`,
    `      i=0; while [ ! -e "$d/resume" ] && [ "$i" -lt ${holdLimitSeconds * 10} ]; do sleep 0.1; i=$((i + 1)); done`,
    '      echo \'COMMIT;\'; } | psql -X -qAt -v ON_ERROR_STOP=1 > "$d/out" 2>&1',
    '    echo "$?" > "$d/exit"',
    '  ) > /dev/null 2>&1 &',
    '  echo "$!" > "$d/session"',
    `  until grep -q '${paused}' "$d/out" 2>/dev/null || [ -e "$d/exit" ]; do sleep 0.05; done`,
    `  if grep -q '${paused}' "$d/out"; then grep '${paused}' "$d/out"; exit 0; fi`,
    '  touch "$d/resume"',
    '  echo "attempt $attempt: $(cat "$d/out")" >&2',
    'done',
    'exit 1',
  ].join('\n');
  const post = [
    'set -u',
    `d=${dir}`,
    'if [ ! -e "$d/session" ]; then echo "no paused session to resume"; exit 0; fi',
    'touch "$d/resume"',
    'until [ -e "$d/exit" ]; do sleep 0.05; done',
    'status=$(cat "$d/exit")',
    'if [ "$status" != 0 ]; then echo "the pausing session ended with $status: $(cat "$d/out")" >&2; rm -rf "$d"; exit 1; fi',
    'rm -rf "$d"',
    "echo 'safehold: writes resumed'",
  ].join('\n');
  return { pre, post };
}

const presets: Record<HookPreset, () => { pre: string; post: string }> = { postgresql };

/** The commands of a preset's pre and post hooks. */
export function presetCommands(preset: HookPreset): { pre: string[]; post: string[] } {
  const { pre, post } = presets[preset]();
  return { pre: ['sh', '-c', pre], post: ['sh', '-c', post] };
}
