// One application dump into the repository (ADR 0026): the repository made
// ready first (restic reads the dump once; a second run could not read it
// again), then a FIFO in the temporary folder, this process's stdin (the
// operator's frames) pumped into it, and the engine backing up the stdout of
// `dump-stream FIFO`, stored as one file. The FIFO holds nothing: the dump
// never lands on a disk. dump-stream's exit code decides whether a snapshot
// is stored; a pump that fails closes the FIFO, which ends the stream early.
import { execFile } from 'node:child_process';
import { closeSync, constants, createWriteStream, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import type { BackupSummary, DumpBackupTask } from '../api/index.ts';
import type { BackupSteps } from './backup.ts';
import { compressionFor } from './compression-choice.ts';
import type { Failure } from './failure.ts';
import { throttledProgress } from './progress-throttle.ts';

export interface DumpBackupSteps extends BackupSteps {
  /** The argv that runs this program's `dump-stream FIFO` command. */
  dumpStreamCommand: (fifo: string) => string[];
  /** Where the operator's frames arrive: the mover's stdin. */
  input: Readable;
  tempDir: string;
}

/** Where `dump-stream FIFO` leaves why a dump was not stored: a line beside the FIFO. */
export function dumpStreamReason(fifo: string): string {
  return `${fifo}.why`;
}

export async function runDumpBackup(task: DumpBackupTask, steps: DumpBackupSteps): Promise<BackupSummary | Failure> {
  const notReady = await steps.repository.prepare({ create: task.repository.initialize });
  if (notReady !== undefined) return notReady;
  const dir = await mkdtemp(join(steps.tempDir, 'dump-'));
  try {
    const fifo = join(dir, 'dump.fifo');
    await promisify(execFile)('mkfifo', ['-m', '600', fifo]);
    // Opening the FIFO waits for dump-stream to open it. A pump that fails ends the stream early,
    // and dump-stream says so: its error adds nothing.
    const pumped = pipeline(steps.input, createWriteStream(fifo)).catch(() => undefined);
    const progress = throttledProgress(steps.progressIntervalMs, steps.nowMs, steps.progress);
    const saved = await steps.repository.backupStream(
      {
        host: task.host,
        tags: task.tags,
        fileName: task.fileName,
        command: steps.dumpStreamCommand(fifo),
        compression: compressionFor(task.compression, undefined),
        verifyBeforeUpload: task.verifyBeforeUpload,
      },
      progress,
    );
    steps.input.destroy();
    // When the engine never ran dump-stream, the pump still waits to open the FIFO: a reader lets it go.
    closeSync(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK));
    await pumped;
    if (saved.ok) return saved.value;
    // dump-stream's own words, when it is why the engine stored nothing.
    const said = (await readFile(dumpStreamReason(fifo), 'utf8').catch(() => '')).trim().split('\n')[0] ?? '';
    if (said === '') return saved.error;
    // Cut short on its way (not the command's failure): the run is tried again.
    const cut = /(\d+ arrived|before the dump command did)$/.test(said);
    return { type: 'error', code: cut ? 'DumpIncomplete' : 'DumpFailed', message: said };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
