// `safehold dump-stream FIFO`: what restic runs (--stdin-from-command) to read
// an application dump. The operator writes it as frames on the mover's stdin
// (ADR 0026); restic gives its command no stdin, so the mover passes the
// frames on through a FIFO (a pipe with a name: nothing is stored). The data
// goes to stdout as it comes; the exit code is 0 only when the end frame says
// the dump command exited 0 and every byte it wrote arrived. Otherwise restic
// stores no snapshot, and a mover that dies closes the FIFO, which ends the
// stream without its end frame.
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { FrameDecoder, incompleteDump, type DumpEnd } from '../api/index.ts';

export async function dumpStream(input: Readable, output: Writable, say: (line: string) => void): Promise<number> {
  const decoder = new FrameDecoder();
  let arrived = 0;
  let end: DumpEnd | undefined;
  try {
    for await (const piece of input) {
      for (const frame of decoder.push(piece as Buffer)) {
        if (frame.kind === 'end') {
          end = frame.end;
          break;
        }
        arrived += frame.payload.length;
        if (!output.write(frame.payload)) await once(output, 'drain');
      }
      if (end !== undefined) break;
    }
  } catch (error) {
    say(`dump not stored: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const why = incompleteDump(end, arrived);
  if (why !== undefined) {
    say(`dump not stored: ${why}`);
    return 1;
  }
  output.end();
  await once(output, 'finish');
  return 0;
}
