// Safehold's API group and version, and the name it writes under.
export const apiGroup = 'safehold.io';
export const apiVersion = 'v1alpha1';
/** The field manager and label prefix Safehold uses for everything it writes. */
export const fieldManager = 'safehold';
