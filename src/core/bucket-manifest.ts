// A bucket snapshot's manifest.jsonl: what the snapshot holds and the truth
// for key <-> file. A header (format, bucket, prefix, object count), one line
// per object (key, file, size, ETag, LastModified, Content-Type and
// x-amz-meta-* metadata), and a trailer counting the object lines. A
// manifest that was cut short or does not add up is refused whole: a backup
// then reads every object again, a restore stops.
import { z } from 'zod';

export const manifestFormat = 'safehold.io/bucket-manifest/v1';
export const manifestFileName = 'manifest.jsonl';

const header = z.object({
  format: z.literal(manifestFormat),
  bucket: z.string().min(1),
  prefix: z.string(),
  objects: z.int().nonnegative(),
});
export type ManifestHeader = z.infer<typeof header>;

export const manifestObject = z.object({
  key: z.string().min(1),
  /** Relative to the snapshot's folder: objects/... (objectFile). */
  file: z.string().startsWith('objects/'),
  size: z.int().nonnegative(),
  /** Without the quotes S3 puts around it. */
  etag: z.string(),
  /** RFC 3339, as S3 listed or answered it. */
  lastModified: z.string(),
  contentType: z.string(),
  /** x-amz-meta-* without the prefix, names in lower case. */
  metadata: z.record(z.string(), z.string()),
  /** Content-Encoding, Content-Disposition, Cache-Control and Content-Language, those the object has. */
  headers: z.record(z.string(), z.string()).optional(),
});
export type ManifestObject = z.infer<typeof manifestObject>;

const trailer = z.object({ end: z.literal(true), lines: z.int().nonnegative() });

export interface Manifest {
  header: ManifestHeader;
  objects: ManifestObject[];
}

export type ManifestResult = { ok: true; manifest: Manifest } | { ok: false; error: string };

/** The manifest's lines, each ending in "\n": header, objects, trailer. */
export function* manifestLines(head: Omit<ManifestHeader, 'format' | 'objects'>, objects: readonly ManifestObject[]) {
  yield `${JSON.stringify({ format: manifestFormat, ...head, objects: objects.length })}\n`;
  for (const object of objects) yield `${JSON.stringify(object)}\n`;
  yield `${JSON.stringify({ end: true, lines: objects.length })}\n`;
}

/** Reads a manifest line by line; result() says whether it was whole and consistent. */
export function manifestReader(): { line: (text: string) => void; result: () => ManifestResult } {
  let head: ManifestHeader | undefined;
  let ended: number | undefined;
  let problem: string | undefined;
  let lineNumber = 0;
  const objects: ManifestObject[] = [];
  const keys = new Set<string>();
  const files = new Set<string>();
  const fail = (why: string) => {
    problem ??= `line ${lineNumber}: ${why}`;
  };
  return {
    line: (text) => {
      lineNumber++;
      if (problem !== undefined || text === '') return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return fail('not JSON');
      }
      if (head === undefined) {
        const parsed = header.safeParse(value);
        if (!parsed.success) return fail(`not a ${manifestFormat} header`);
        head = parsed.data;
        return;
      }
      if (ended !== undefined) return fail('a line after the trailer');
      const end = trailer.safeParse(value);
      if (end.success) {
        ended = end.data.lines;
        return;
      }
      const parsed = manifestObject.safeParse(value);
      if (!parsed.success) return fail(`not an object line (${parsed.error.issues[0]?.message ?? 'invalid'})`);
      const object = parsed.data;
      if (keys.has(object.key)) return fail(`the key "${object.key}" twice`);
      if (files.has(object.file)) return fail(`the file "${object.file}" twice`);
      if (!isPlainPath(object.file)) return fail(`the file "${object.file}" is not a plain relative path`);
      keys.add(object.key);
      files.add(object.file);
      objects.push(object);
    },
    result: () => {
      if (problem !== undefined) return { ok: false, error: problem };
      if (head === undefined) return { ok: false, error: 'empty: no header' };
      if (ended === undefined) return { ok: false, error: 'no trailer: it was cut short' };
      if (ended !== objects.length)
        return { ok: false, error: `the trailer counts ${ended} objects, the manifest has ${objects.length}` };
      if (head.objects !== objects.length)
        return { ok: false, error: `the header counts ${head.objects} objects, the manifest has ${objects.length}` };
      return { ok: true, manifest: { header: head, objects } };
    },
  };
}

/** A whole manifest's text, parsed. */
export function parseManifest(text: string): ManifestResult {
  const reader = manifestReader();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) reader.line(line);
  return reader.result();
}

/** objects/a/b: no empty, "." or ".." parts, so a file never leaves the folder it is restored into. */
function isPlainPath(file: string): boolean {
  return file.split('/').every((part) => part !== '' && part !== '.' && part !== '..' && !part.includes('\0'));
}
