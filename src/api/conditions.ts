// Status conditions in the Kubernetes shape, shared by every Safehold kind.
import { z } from 'zod';

export const condition = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string().optional(),
  lastTransitionTime: z.string(),
  observedGeneration: z.int().optional(),
});

export type Condition = z.infer<typeof condition>;
