// What `restic ls --json` and `restic cat tree` say about a snapshot's
// entries, as the engine's SnapshotEntry. ls prints the snapshot first, then
// one node a line; it leaves out symlink targets, which only the folder's own
// tree (`cat tree <snapshot>:<folder>`) holds.
import { z } from 'zod';
import type { SnapshotEntry } from '../engine.ts';
import { parseJson } from './output.ts';

const snapshotLine = z.object({
  message_type: z.literal('snapshot'),
  id: z.string().min(1),
  paths: z.array(z.string()).default([]),
});

const nodeLine = z.object({
  message_type: z.literal('node'),
  type: z.string(),
  path: z.string(),
  uid: z.number().optional(),
  gid: z.number().optional(),
  size: z.number().optional(),
  mode: z.number().optional(),
  mtime: z.string().optional(),
  atime: z.string().optional(),
});

const lsLine = z.discriminatedUnion('message_type', [snapshotLine, nodeLine]);

export type SnapshotNode = z.infer<typeof nodeLine>;
export type LsLine = { kind: 'snapshot'; id: string } | { kind: 'node'; node: SnapshotNode };

/** One line `restic ls --json` printed on stdout, or undefined for anything else. */
export function parseLsLine(line: string): LsLine | undefined {
  const parsed = parseJson(line, lsLine);
  if (parsed === undefined) return undefined;
  return parsed.message_type === 'snapshot' ? { kind: 'snapshot', id: parsed.id } : { kind: 'node', node: parsed };
}

// Go's os.FileMode keeps the permission bits where Unix does, but setuid, setgid and sticky elsewhere.
const goSetuid = 2 ** 23;
const goSetgid = 2 ** 22;
const goSticky = 2 ** 20;

/** The Unix permission bits (as chmod takes them, 0o7777 at most) of a mode restic printed. */
export function unixMode(goMode: number): number {
  const special = (bit: number, unix: number) => (Math.floor(goMode / bit) % 2 === 1 ? unix : 0);
  return (goMode % 0o1000) | special(goSetuid, 0o4000) | special(goSetgid, 0o2000) | special(goSticky, 0o1000);
}

/** The node as the engine's SnapshotEntry: its mode as chmod takes it. */
export function snapshotEntryOf(node: SnapshotNode): SnapshotEntry {
  return {
    path: node.path,
    type: node.type,
    ...(node.size === undefined ? {} : { size: node.size }),
    ...(node.mode === undefined ? {} : { mode: unixMode(node.mode) }),
    ...(node.uid === undefined ? {} : { uid: node.uid }),
    ...(node.gid === undefined ? {} : { gid: node.gid }),
    ...(node.mtime === undefined ? {} : { mtime: node.mtime }),
    ...(node.atime === undefined ? {} : { atime: node.atime }),
  };
}

const tree = z.object({
  nodes: z.array(z.object({ name: z.string(), type: z.string(), linktarget: z.string().optional() })).default([]),
});

/** The symlink targets in a tree `restic cat tree` printed, by name; undefined when it is not a tree. */
export function parseLinkTargets(text: string): Map<string, string> | undefined {
  const parsed = parseJson(text, tree);
  if (parsed === undefined) return undefined;
  return new Map(
    parsed.nodes.flatMap((node) =>
      node.type === 'symlink' && node.linktarget !== undefined ? [[node.name, node.linktarget] as const] : [],
    ),
  );
}
