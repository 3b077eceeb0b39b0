// A container's log as the kubelet serves it for `pods/log`: the output file
// cut to its last tailLines lines, then to at most limitBytes bytes from there.
// sinceSeconds, sinceTime and timestamps are ignored (the file holds no times);
// follow answers with what is written so far and ends.
import { open, type FileHandle } from 'node:fs/promises';

export interface LogOptions {
  tailLines?: number;
  limitBytes?: number;
}

export type LogOptionsResult = { ok: true; options: LogOptions } | { ok: false; error: string };

const chunkBytes = 64 * 1024;
const newline = 0x0a;

export function parseLogOptions(query: URLSearchParams): LogOptionsResult {
  const options: LogOptions = {};
  for (const key of ['tailLines', 'limitBytes'] as const) {
    const raw = query.get(key);
    if (raw === null) continue;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value)) {
      return { ok: false, error: `${key} must be a non-negative integer, not "${raw}"` };
    }
    options[key] = value;
  }
  return { ok: true, options };
}

/** The last `count` lines of `data`; a final newline ends the last line, and a last line without one still counts. */
export function lastLines(data: Buffer, count: number): Buffer {
  if (count === 0) return data.subarray(data.length);
  let position = data.length > 0 && data[data.length - 1] === newline ? data.length - 1 : data.length;
  for (let found = 0; found < count; found++) {
    const before = position === 0 ? -1 : data.lastIndexOf(newline, position - 1);
    if (before === -1) return data;
    position = before;
  }
  return data.subarray(position + 1);
}

/** Reads the log file at `path` as cut by `options`; rejects with ENOENT if the container never started. */
export async function readContainerLog(path: string, options: LogOptions): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const data =
      options.tailLines === undefined
        ? await readRange(file, 0, Math.min(size, options.limitBytes ?? size))
        : await readLastLines(file, size, options.tailLines);
    return options.limitBytes === undefined ? data : data.subarray(0, options.limitBytes);
  } finally {
    await file.close();
  }
}

// Reads backwards a chunk at a time, so the latest line of a long log costs one read.
async function readLastLines(file: FileHandle, size: number, count: number): Promise<Buffer> {
  let data = Buffer.alloc(0);
  let start = size;
  while (start > 0) {
    const from = Math.max(0, start - chunkBytes);
    data = Buffer.concat([await readRange(file, from, start - from), data]);
    start = from;
    if (lastLines(data, count).length < data.length) break;
  }
  return lastLines(data, count);
}

async function readRange(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}
