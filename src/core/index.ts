// src/core: pure decisions over plain data, no I/O, `now` passed in: policy
// resolution, schedules, retention, run phases, manifests. Only imports api.
export * from './quantity.ts';
