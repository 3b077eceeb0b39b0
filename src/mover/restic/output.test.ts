import { describe, expect, it } from 'vitest';
import { moverProgress, backupSummary } from '../../api/index.ts';
import { parseResticLine } from './output.ts';

// Lines as restic 0.18.1 prints them.
const summary =
  '{"message_type":"summary","files_new":2,"files_changed":1,"files_unmodified":7,"dirs_new":2,"dirs_changed":3,"dirs_unmodified":0,"data_blobs":2,"tree_blobs":3,"data_added":1401,"data_added_packed":1126,"total_files_processed":10,"total_bytes_processed":4096,"total_duration":0.884080718,"backup_start":"2026-11-22T04:35:36.439515353Z","backup_end":"2026-11-22T04:35:37.323596071Z","snapshot_id":"cd3390ad8c29f5ee7f2a76cd278fc6e561a2b2c573583d80d6da5f346d37dba4"}';

describe('parseResticLine', () => {
  it.each([
    [
      'a status line',
      '{"message_type":"status","seconds_elapsed":3,"percent_done":0.5721,"total_files":2,"files_done":1,"total_bytes":160000000,"bytes_done":91557638,"current_files":["/data/b"]}',
      { percentDone: 57.2, filesDone: 1, totalFiles: 2, bytesDone: 91557638, totalBytes: 160000000, secondsElapsed: 3 },
    ],
    [
      'a status line without the fields restic leaves out when zero',
      '{"message_type":"status","percent_done":0,"total_files":4,"total_bytes":300003}',
      { percentDone: 0, filesDone: 0, totalFiles: 4, bytesDone: 0, totalBytes: 300003, secondsElapsed: 0 },
    ],
    [
      'the last status line',
      '{"message_type":"status","percent_done":1,"total_files":4,"files_done":4,"total_bytes":300003,"bytes_done":300003}',
      { percentDone: 100, filesDone: 4, totalFiles: 4, bytesDone: 300003, totalBytes: 300003, secondsElapsed: 0 },
    ],
  ])('reads %s as progress', (_, line, expected) => {
    const parsed = parseResticLine(line);
    expect(parsed).toEqual({ kind: 'status', progress: { type: 'progress', ...expected } });
    if (parsed.kind === 'status') expect(moverProgress.safeParse(parsed.progress).success).toBe(true);
  });

  it('maps the summary onto the protocol names', () => {
    const parsed = parseResticLine(summary);
    expect(parsed).toEqual({
      kind: 'summary',
      summary: {
        type: 'summary',
        snapshotId: 'cd3390ad8c29f5ee7f2a76cd278fc6e561a2b2c573583d80d6da5f346d37dba4',
        filesNew: 2,
        filesChanged: 1,
        filesUnmodified: 7,
        dirsNew: 2,
        dirsChanged: 3,
        bytesAdded: 1401,
        bytesProcessed: 4096,
        filesProcessed: 10,
        durationSeconds: 0.884080718,
      },
    });
    if (parsed.kind === 'summary') expect(backupSummary.safeParse(parsed.summary).success).toBe(true);
  });

  it.each([
    [
      'an unreadable file',
      '{"message_type":"error","error":{"message":"open /data/unread: permission denied"},"during":"archival","item":"/data/unread"}',
      { kind: 'error', message: 'open /data/unread: permission denied', item: '/data/unread' },
    ],
    [
      'what check found',
      '{"message_type":"error","message":"pack 1a683d12 contains 2 errors: [blob e5a82d3c: ciphertext verification failed]\\n"}',
      {
        kind: 'error',
        message: 'pack 1a683d12 contains 2 errors: [blob e5a82d3c: ciphertext verification failed]',
        item: '',
      },
    ],
    [
      'why restic stopped',
      '{"message_type":"exit_error","code":12,"message":"Fatal: wrong password or no key found"}',
      { kind: 'exit-error', code: 12, message: 'Fatal: wrong password or no key found' },
    ],
    [
      'a plain stderr line',
      'Stat(<config/>) failed: Stat: Access Denied.',
      { kind: 'text', text: 'Stat(<config/>) failed: Stat: Access Denied.' },
    ],
    [
      'a line with terminal escapes',
      '\u001b[2Ksignal terminated received, cleaning up',
      { kind: 'text', text: 'signal terminated received, cleaning up' },
    ],
    ['a line that only looks like JSON', '{', { kind: 'text', text: '{' }],
    ['a message type the mover does not use', '{"message_type":"verbose_status","action":"new"}', { kind: 'other' }],
    ['a summary without a snapshot', summary.replace(/"snapshot_id":"[0-9a-f]+"/, '"x":1'), { kind: 'other' }],
  ])('reads %s', (_, line, expected) => {
    expect(parseResticLine(line)).toEqual(expected);
  });
});
