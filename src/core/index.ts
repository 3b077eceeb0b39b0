// src/core: pure decisions over plain data, no I/O, `now` passed in: policy
// resolution, schedules, retention, run phases, manifests. Only imports api.
export * from './coverage.ts';
export * from './decision.ts';
export * from './label-selector.ts';
export * from './quantity.ts';
export * from './relative-time.ts';
export * from './schedule.ts';
export * from './workloads.ts';
