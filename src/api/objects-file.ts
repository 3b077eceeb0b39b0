// The objects file (objects.jsonl) an objects dump stores, format
// safehold.io/objects/v1: a header naming the namespace (or the cluster scope)
// and the kinds read, one object a line, and a trailer counting them. The
// operator writes it (controller/dump/namespace-objects.ts), the CLI reads it
// (cli/objects-file.ts): one definition for both.
import { z } from 'zod';

export const objectsFileFormat = 'safehold.io/objects/v1';

export const objectsFileResource = z.object({
  group: z.string(),
  version: z.string().min(1),
  kind: z.string().min(1),
  plural: z.string().min(1),
  namespaced: z.boolean(),
});
export type ObjectsFileResource = z.infer<typeof objectsFileResource>;

/** Line 1: a namespace's objects, or (scope Cluster, no namespace) the cluster-scoped ones. */
export const objectsFileHeader = z.object({
  format: z.literal(objectsFileFormat),
  namespace: z.string().min(1).optional(),
  scope: z.literal('Cluster').optional(),
  capturedAt: z.string(),
  resources: z.array(objectsFileResource),
  skipped: z.array(z.object({ resource: z.string(), reason: z.string() })).default([]),
});
export type ObjectsFileHeader = z.input<typeof objectsFileHeader>;

/** The last line: how many object lines came before it, and the objects left out with why. */
export const objectsFileTrailer = z.object({
  end: z.literal(true),
  objects: z.number().int().nonnegative(),
  skippedObjects: z.array(z.object({ object: z.string(), reason: z.string() })).default([]),
});
export type ObjectsFileTrailer = z.input<typeof objectsFileTrailer>;
