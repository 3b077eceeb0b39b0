// What `restic restore --json` prints on stdout (restic 0.18): status lines
// while it works and one summary, both with counts restic leaves out when
// zero. Its summary carries no snapshot id, and its status lines are not
// backup's (files_restored, not files_done), so they are read here rather than
// by parseResticLine.
//   {"message_type":"status","seconds_elapsed":3,"percent_done":0.41,"total_files":2657,"files_restored":1090,
//    "files_skipped":2,"files_deleted":1,"total_bytes":1078446023,"bytes_restored":442000000,"bytes_skipped":20}
//   {"message_type":"summary","seconds_elapsed":9,"total_files":2657,"files_restored":2657,"files_deleted":7,
//    "total_bytes":1078446023,"bytes_restored":1078446023}
import { z } from 'zod';
import type { MoverProgress } from '../../api/index.ts';
import type { RestoreCounts } from '../engine.ts';
import { parseJson, progressOf } from './output.ts';

const count = z.number().default(0);

const counts = {
  seconds_elapsed: count,
  total_files: count,
  files_restored: count,
  files_skipped: count,
  files_deleted: count,
  total_bytes: count,
  bytes_restored: count,
  bytes_skipped: count,
};

const restoreLine = z.discriminatedUnion('message_type', [
  z.object({ message_type: z.literal('status'), percent_done: count, ...counts }),
  z.object({ message_type: z.literal('summary'), ...counts }),
]);

export type RestoreLine = { kind: 'status'; progress: MoverProgress } | { kind: 'summary'; summary: RestoreCounts };

export function parseRestoreLine(line: string): RestoreLine | undefined {
  const message = parseJson(line, restoreLine);
  if (message === undefined) return undefined;
  switch (message.message_type) {
    case 'status':
      return {
        kind: 'status',
        progress: progressOf({
          ...message,
          // Skipped files (already as the backup has them) are done too.
          files_done: message.files_restored + message.files_skipped,
          bytes_done: message.bytes_restored + message.bytes_skipped,
        }),
      };
    case 'summary':
      return {
        kind: 'summary',
        summary: {
          type: 'restored',
          filesRestored: Math.trunc(message.files_restored),
          filesSkipped: Math.trunc(message.files_skipped),
          totalFiles: Math.trunc(message.total_files),
          bytesRestored: message.bytes_restored,
          bytesSkipped: message.bytes_skipped,
          totalBytes: message.total_bytes,
          filesDeleted: Math.trunc(message.files_deleted),
        },
      };
  }
}
