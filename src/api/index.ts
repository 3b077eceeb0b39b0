// src/api: Safehold's vocabulary. The API group and, as issues add them, the
// zod schemas of its custom resources, annotations, condition reasons and the
// controller-mover protocol; types come from z.infer. No I/O, no logic.
export const apiGroup = 'safehold.io';
export const apiVersion = 'v1alpha1';
/** The field manager and label prefix Safehold uses for everything it writes. */
export const fieldManager = 'safehold';
