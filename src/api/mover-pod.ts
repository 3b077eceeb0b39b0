// Where and how large mover Pods are: the resources, nodeSelector and
// tolerations an admin gives every mover Job (the chart's `mover` values,
// passed to the operator as `--mover-pod` JSON). Parsed here so a typo names
// its field instead of reaching the API server as a rejected Job.
import { z } from 'zod';

const quantity = z
  .union([
    z.string().regex(/^[0-9.]+([eE][-+]?[0-9]+|[numkMGTPE]i?|Ki)?$/, 'a quantity like 500m, 2Gi or 1'),
    z.number(),
  ])
  .transform(String);

const toleration = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.int().optional(),
});

export const moverPod = z.strictObject({
  resources: z
    .strictObject({
      requests: z.record(z.string(), quantity).optional(),
      limits: z.record(z.string(), quantity).optional(),
    })
    .optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  tolerations: z.array(toleration).optional(),
  serviceAccountName: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a ServiceAccount name')
    .optional()
    .describe('A ServiceAccount with no rights: movers never call the API server and mount no token.'),
});

export type MoverPod = z.infer<typeof moverPod>;

/** What every mover Job runs as: the image (the operator's own program) and the admin's Pod settings. */
export interface MoverSettings extends MoverPod {
  image: string;
}

/** Parses `--mover-pod` JSON; the error names the field that is wrong. */
export function parseMoverPod(text: string): { ok: true; value: MoverPod } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `--mover-pod is not JSON: ${(error as Error).message}` };
  }
  const parsed = moverPod.safeParse(raw ?? {});
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  const path = issue?.path.join('.') ?? '';
  return { ok: false, error: `--mover-pod ${path === '' ? '' : `field ${path}: `}${issue?.message ?? 'invalid'}` };
}
