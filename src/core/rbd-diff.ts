// `rbd diff --format json [--from-snap A] pool/image@B` lists the byte extents
// that hold data (or, with --from-snap, that changed since A) as one array:
//
//   [{"offset":0,"length":4194304,"exists":"true"},{"offset":8388608,"length":65536,"exists":"false"}]
//
// `exists` is the string "true" or "false": "false" means the extent was
// discarded (reads as zeros now). Parsed here into ByteExtents for clusterRuns.
import { z } from 'zod';
import type { ByteExtent } from './cluster-map.ts';

const rbdExtent = z.object({
  offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  length: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  exists: z.enum(['true', 'false']),
});
const rbdDiff = z.array(rbdExtent);

export type RbdDiffResult = { ok: true; extents: ByteExtent[] } | { ok: false; error: string };

/** The extents of `rbd diff --format json` output, or what is wrong with it. */
export function parseRbdDiff(text: string): RbdDiffResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `rbd diff output is not JSON: ${String(error)}` };
  }
  const parsed = rbdDiff.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const where =
      path.length === 0
        ? 'the output'
        : `extent ${String(path[0])}${path.length > 1 ? `, ${path.slice(1).join('.')}` : ''}`;
    return { ok: false, error: `rbd diff output is not a list of extents: ${where}: ${issue?.message ?? 'invalid'}` };
  }
  const extents: ByteExtent[] = [];
  for (const [index, e] of parsed.data.entries()) {
    if (e.offset + e.length > Number.MAX_SAFE_INTEGER) {
      return { ok: false, error: `rbd diff output: extent ${index} ends past 2^53 bytes` };
    }
    extents.push({ offset: e.offset, length: e.length, kind: e.exists === 'true' ? 'data' : 'zero' });
  }
  return { ok: true, extents };
}
