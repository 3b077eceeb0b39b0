// The API server's audit log (testenv/kube/control-plane.ts: Metadata level,
// one JSON event a line), read to count the requests a journey caused: which
// client sent which verb to which object, and what the server answered.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { testEnv } from './cluster.ts';

export interface AuditRef {
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface AuditEntry {
  verb: string;
  userAgent: string;
  /** When the server received the request. */
  at: Date;
  /** The HTTP status it answered with. */
  code: number;
  ref: AuditRef;
}

/** A place in the log: what is logged after it happened from then on. */
export interface AuditMark {
  path: string;
  offset: number;
  since: Date;
}

interface RawEvent {
  stage?: string;
  verb?: string;
  userAgent?: string;
  requestReceivedTimestamp?: string;
  responseStatus?: { code?: number };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
}

export const writeVerbs: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export function auditLogPath(): string {
  return join(testEnv().dir, 'kube', 'audit.log');
}

export function markAudit(): AuditMark {
  const path = auditLogPath();
  return { path, offset: statSync(path).size, since: new Date() };
}

/**
 * Every request received since the mark that the server has answered, oldest first. A log
 * rotated since (at 200 MB) is read from its start: only entries after the rotation are seen.
 */
export function auditSince(mark: AuditMark): AuditEntry[] {
  const size = statSync(mark.path).size;
  const start = size < mark.offset ? 0 : mark.offset;
  const buffer = Buffer.alloc(size - start);
  const fd = openSync(mark.path, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, start);
  } finally {
    closeSync(fd);
  }
  const entries: AuditEntry[] = [];
  // The last line may still be being written: only whole lines count.
  const text = buffer.toString('utf8');
  for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
    if (line === '') continue;
    const event = JSON.parse(line) as RawEvent;
    if (event.stage !== 'ResponseComplete' || event.objectRef?.resource === undefined) continue;
    const at = new Date(event.requestReceivedTimestamp ?? 0);
    if (at < mark.since) continue;
    const { resource, subresource, namespace, name } = event.objectRef;
    entries.push({
      verb: event.verb ?? '',
      userAgent: event.userAgent ?? '',
      at,
      code: event.responseStatus?.code ?? 0,
      ref: {
        resource,
        ...(subresource === undefined ? {} : { subresource }),
        ...(namespace === undefined ? {} : { namespace }),
        ...(name === undefined ? {} : { name }),
      },
    });
  }
  return entries;
}

/** How many entries of each "verb resource (code)", most first: a short summary of a flood. */
export function tally(entries: readonly AuditEntry[]): string {
  const counts = new Map<string, number>();
  for (const e of entries) {
    const key = `${e.verb} ${e.ref.subresource === undefined ? e.ref.resource : `${e.ref.resource}/${e.ref.subresource}`} (${e.code})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${n}× ${key}`)
    .join(', ');
}
