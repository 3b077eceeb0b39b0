// src/mover: the program inside mover Jobs. It gets its task (a backup, an
// application dump, a Git repository's bundle, an object-storage bucket's
// backup or restore, a repository's maintenance, a restore into a volume, or a
// download of a listing or a file to a presigned URL) as JSON, carries it out through the repository engine (engine.ts;
// restic today, in restic/, loaded by engines.ts; a block streamer may join
// it), prints progress as JSON lines and leaves its MoverResult in the
// termination message (src/api/mover-protocol.ts).
// It never calls the API server (lint enforces it) and reads no environment:
// bin passes it in.
export { imageStreamCommandName, moverCommandName } from './command-names.ts';
export { defaultLimits, inheritedEnvNames, parseTask, runMover } from './mover.ts';
export { dumpStream } from './dump-stream.ts';
export { dumpStreamReason } from './dump-backup.ts';
export { streamImage } from './image-stream.ts';
export type { MoverInput, MoverIo, MoverLimits, TaskResult } from './mover.ts';
export { encodeResult, terminationMessageLimit } from './termination-message.ts';
