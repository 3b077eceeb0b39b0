// Lines as restic 0.18.1 printed them for `restore --json`.
import { describe, expect, it } from 'vitest';
import { parseRestoreLine } from './restore-output.ts';

describe('parseRestoreLine', () => {
  it('counts skipped files and bytes as done', () => {
    const line =
      '{"message_type":"status","seconds_elapsed":4,"percent_done":0.4123,"total_files":2657,"files_restored":1000,"files_skipped":90,"total_bytes":1078446023,"bytes_restored":400000000,"bytes_skipped":44000000}';
    expect(parseRestoreLine(line)).toEqual({
      kind: 'status',
      progress: {
        type: 'progress',
        percentDone: 41.2,
        filesDone: 1090,
        totalFiles: 2657,
        bytesDone: 444000000,
        totalBytes: 1078446023,
        secondsElapsed: 4,
      },
    });
  });

  it('reads a first status, where restic leaves out what is still zero', () => {
    expect(
      parseRestoreLine('{"message_type":"status","percent_done":0,"total_files":2657,"total_bytes":1078446023}'),
    ).toMatchObject({ kind: 'status', progress: { percentDone: 0, filesDone: 0, bytesDone: 0, secondsElapsed: 0 } });
  });

  it('reads the summary, deleted files included', () => {
    const line =
      '{"message_type":"summary","total_files":11,"files_restored":11,"files_deleted":7,"total_bytes":10,"bytes_restored":10}';
    expect(parseRestoreLine(line)).toEqual({
      kind: 'summary',
      summary: {
        type: 'restored',
        filesRestored: 11,
        filesSkipped: 0,
        totalFiles: 11,
        bytesRestored: 10,
        bytesSkipped: 0,
        totalBytes: 10,
        filesDeleted: 7,
      },
    });
  });

  it('ignores other messages and text', () => {
    expect(parseRestoreLine('{"message_type":"verbose_status","action":"restored","item":"/x"}')).toBeUndefined();
    expect(parseRestoreLine('restoring snapshot a05c7b56')).toBeUndefined();
  });
});
