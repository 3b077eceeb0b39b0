// Ready-made hooks: the commands a preset's pre and post hooks run in the
// application's container. A pre hook must return for the snapshot to be
// taken, so a pause that lasts across it is held by a session the pre hook
// leaves running in the background; the post hook ends that session and
// waits until it has. The session ends by itself after holdLimitSeconds if
// no post hook comes (an operator that died between the two).
import type { HookPreset } from '../api/index.ts';

export const holdLimitSeconds = 600;

const paused = 'safehold: writes paused';

/** A database session, fed its statements on stdin, that pauses writes and holds the pause open. */
interface HeldSession {
  preset: HookPreset;
  /** Shell lines first: the client's settings from the container's environment. */
  environment: string[];
  /** Shell lines once, before the session (a checkpoint). */
  before: string[];
  /** The client, reading statements from stdin and printing results. */
  client: string;
  /** Statements that take the pause, the last printing a line that starts with "safehold: writes paused". */
  pause: string[];
  /** The statement that ends it. */
  resume: string;
}

/** A shell argument: the text in single quotes. */
const quoted = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/**
 * The pre and post scripts of a held session. The pre hook tries three times
 * (a deadlock or a lock timeout ends a try). The session's own exit status
 * goes to a file: the background shell always exits 0, so whichever process
 * reaps it (the container's first process may be the database server) sees
 * nothing amiss.
 */
function heldSession(session: HeldSession): { pre: string; post: string } {
  const dir = `d="\${TMPDIR:-/tmp}/safehold-${session.preset}-hold"`;
  const pre = [
    'set -u',
    dir,
    ...session.environment,
    'if [ -e "$d/session" ] && [ ! -e "$d/exit" ]; then echo "writes are paused already ($d): a post hook has not run" >&2; exit 1; fi',
    'rm -rf "$d" && mkdir -p "$d" || exit 1',
    ...session.before,
    'for attempt in 1 2 3; do',
    '  rm -f "$d/out" "$d/exit" "$d/resume"',
    '  (',
    `    { printf '%s\\n' ${session.pause.map(quoted).join(' ')}`,
    `      i=0; while [ ! -e "$d/resume" ] && [ "$i" -lt ${holdLimitSeconds * 10} ]; do sleep 0.1; i=$((i + 1)); done`,
    `      printf '%s\\n' ${quoted(session.resume)}; } | ${session.client} > "$d/out" 2>&1`,
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
    dir,
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

/**
 * PostgreSQL: CHECKPOINT (the snapshot has little WAL to replay), then a
 * transaction that takes a SHARE lock on every table of the database and
 * stays open: reads go on, writes wait.
 */
function postgresql(): HeldSession {
  const tables = "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')";
  return {
    preset: 'postgresql',
    environment: [
      'export PGUSER="${PGUSER:-${POSTGRES_USER:-postgres}}"',
      'if [ -z "${PGPASSWORD:-}" ] && [ -n "${POSTGRES_PASSWORD:-}" ]; then export PGPASSWORD="$POSTGRES_PASSWORD"; fi',
      'export PGDATABASE="${PGDATABASE:-${POSTGRES_DB:-$PGUSER}}"',
    ],
    before: ['psql -X -q -v ON_ERROR_STOP=1 -c CHECKPOINT || exit 1'],
    client: 'psql -X -qAt -v ON_ERROR_STOP=1',
    pause: [
      "SET lock_timeout = '10s';",
      'BEGIN;',
      `DO $safehold$ DECLARE t record; BEGIN FOR t IN SELECT schemaname, tablename ${tables} ORDER BY 1, 2 LOOP EXECUTE format('LOCK TABLE %I.%I IN SHARE MODE', t.schemaname, t.tablename); END LOOP; END $safehold$;`,
      `SELECT '${paused} on ' || count(*) || ' tables of database ' || current_database() ${tables};`,
    ],
    resume: 'COMMIT;',
  };
}

/**
 * MySQL and MariaDB: FLUSH TABLES WITH READ LOCK, held by the session:
 * every table flushed to disk, reads go on, writes and DDL wait.
 */
function mysql(): HeldSession {
  return {
    preset: 'mysql',
    environment: [
      'client=$(command -v mariadb || command -v mysql) || { echo "neither mariadb nor mysql is on PATH" >&2; exit 1; }',
      'root_password="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"',
      'if [ -z "${MYSQL_PWD:-}" ] && [ -n "$root_password" ]; then export MYSQL_PWD="$root_password"; user="-uroot"; else user=""; fi',
    ],
    before: [],
    client: '"$client" $user --batch --skip-column-names --unbuffered',
    pause: [
      'SET SESSION lock_wait_timeout = 10;',
      'FLUSH TABLES WITH READ LOCK;',
      `SELECT '${paused}: tables flushed and read-locked';`,
    ],
    resume: 'UNLOCK TABLES;',
  };
}

const presets: Record<HookPreset, () => HeldSession> = { postgresql, mysql };

/** The commands of a preset's pre and post hooks. */
export function presetCommands(preset: HookPreset): { pre: string[]; post: string[] } {
  const { pre, post } = heldSession(presets[preset]());
  return { pre: ['sh', '-c', pre], post: ['sh', '-c', post] };
}
