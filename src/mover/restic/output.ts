// restic's `--json` output, one line at a time. Status lines become
// MoverProgress, the summary becomes the BackupSummary, error lines are kept
// to explain a failure; anything that is not JSON is restic's plain stderr.
import { z } from 'zod';
import type { BackupSummary, MoverProgress } from '../../api/index.ts';

// restic leaves out fields that are zero.
const count = z.number().default(0);

const statusLine = z.object({
  message_type: z.literal('status'),
  percent_done: count,
  total_files: count,
  files_done: count,
  total_bytes: count,
  bytes_done: count,
  seconds_elapsed: count,
});

const summaryLine = z.object({
  message_type: z.literal('summary'),
  snapshot_id: z.string().min(1),
  files_new: count,
  files_changed: count,
  files_unmodified: count,
  dirs_new: count,
  dirs_changed: count,
  data_added: count,
  total_files_processed: count,
  total_bytes_processed: count,
  total_duration: count,
});

// backup: a file it could not read ({error: {message}, item}); check: what it found ({message}).
const errorLine = z.object({
  message_type: z.literal('error'),
  error: z.object({ message: z.string() }).optional(),
  message: z.string().optional(),
  item: z.string().default(''),
});

const exitErrorLine = z.object({
  message_type: z.literal('exit_error'),
  code: z.number(),
  message: z.string(),
});

const resticJsonLine = z.discriminatedUnion('message_type', [statusLine, summaryLine, errorLine, exitErrorLine]);

export type ResticLine =
  | { kind: 'status'; progress: MoverProgress }
  | { kind: 'summary'; summary: BackupSummary }
  /** A file or folder backup could not read (it goes on without it), or a damage check found. */
  | { kind: 'error'; message: string; item: string }
  /** Why restic stopped, with its exit code (restic 0.17+ with --json). */
  | { kind: 'exit-error'; code: number; message: string }
  | { kind: 'text'; text: string }
  /** JSON restic prints that the mover has no use for (verbose_status, newer types). */
  | { kind: 'other' };

// Terminal escapes restic writes even when stderr is not a terminal ("\x1b[2K").
// eslint-disable-next-line no-control-regex
const escapes = /\x1b\[[0-9;]*[A-Za-z]/g;

export function parseResticLine(line: string): ResticLine {
  const text = line.replace(escapes, '').trim();
  if (!text.startsWith('{')) return { kind: 'text', text };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'text', text };
  }
  const parsed = resticJsonLine.safeParse(json);
  if (!parsed.success) return { kind: 'other' };
  const message = parsed.data;
  switch (message.message_type) {
    case 'status':
      return { kind: 'status', progress: progressOf(message) };
    case 'summary':
      return {
        kind: 'summary',
        summary: {
          type: 'summary',
          snapshotId: message.snapshot_id,
          filesNew: Math.trunc(message.files_new),
          filesChanged: Math.trunc(message.files_changed),
          filesUnmodified: Math.trunc(message.files_unmodified),
          dirsNew: Math.trunc(message.dirs_new),
          dirsChanged: Math.trunc(message.dirs_changed),
          bytesAdded: message.data_added,
          bytesProcessed: message.total_bytes_processed,
          filesProcessed: Math.trunc(message.total_files_processed),
          durationSeconds: message.total_duration,
        },
      };
    case 'error':
      return { kind: 'error', message: (message.error?.message ?? message.message ?? '').trim(), item: message.item };
    case 'exit_error':
      return { kind: 'exit-error', code: message.code, message: message.message };
  }
}

/** A status line's counts as the protocol's progress. */
export function progressOf(status: z.infer<typeof statusLine>): MoverProgress {
  return {
    type: 'progress',
    // restic reports a fraction; the protocol's field is a percentage.
    percentDone: Math.round(status.percent_done * 1000) / 10,
    filesDone: Math.trunc(status.files_done),
    totalFiles: Math.trunc(status.total_files),
    bytesDone: status.bytes_done,
    totalBytes: status.total_bytes,
    secondsElapsed: status.seconds_elapsed,
  };
}

/** What a line tells a person reading the mover's log, if anything. */
export function lineForLog(line: ResticLine): string | undefined {
  switch (line.kind) {
    case 'text':
      return line.text;
    case 'exit-error':
      return line.message;
    case 'error':
      return line.item === '' ? line.message : `${line.item}: ${line.message}`;
    case 'status':
    case 'summary':
    case 'other':
      return undefined;
  }
}

/** The first few of what restic said, and how many more there were: "a; b; c and 2 more". */
export function someOf(said: readonly string[], shown = 5): string {
  const more = said.length > shown ? ` and ${said.length - shown} more` : '';
  return `${said.slice(0, shown).join('; ')}${more}`;
}

/** restic's JSON (a line, or a command's answer) as the schema reads it; undefined when it is not that. */
export function parseJson<T>(text: string, schema: z.ZodType<T>): T | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
