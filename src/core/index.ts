// src/core: pure decisions over plain data, no I/O, `now` passed in: policy
// resolution, schedules, retention, run phases, manifests. Only imports api.
export * from './backup-choice.ts';
export * from './backup-run.ts';
export * from './block-chain.ts';
export * from './conditions.ts';
export * from './coverage-record.ts';
export * from './coverage.ts';
export * from './decision.ts';
export * from './download-run.ts';
export * from './due-runs.ts';
export * from './forget-args.ts';
export * from './label-selector.ts';
export * from './maintenance-run.ts';
export * from './maintenance-schedule.ts';
export * from './mover-job.ts';
export * from './quantity.ts';
export * from './relative-time.ts';
export * from './restore-run.ts';
export * from './restore-task.ts';
export * from './retention-plan.ts';
export * from './retention.ts';
export * from './run-retry.ts';
export * from './s3-presign.ts';
export * from './schedule.ts';
export * from './workloads.ts';
export * from './operator-view.ts';
export * from './volume-health.ts';
