// The Kubernetes LabelSelector, as policies use it to pick namespaces, PVCs and PVs.
import { z } from 'zod';

export const labelSelectorRequirement = z.object({
  key: z.string().min(1),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: z.array(z.string()).optional(),
});

export const labelSelector = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z.array(labelSelectorRequirement).optional(),
  })
  .describe('A label selector; an empty selector selects everything.');

export type LabelSelector = z.infer<typeof labelSelector>;
export type LabelSelectorRequirement = z.infer<typeof labelSelectorRequirement>;
