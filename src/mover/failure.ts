// Why a task, or the repository engine under it, failed, as the mover says it
// until mover.ts reports it: the protocol's error codes, except the one the
// protocol still names after restic ('ResticFailed'), which is EngineFailed
// here. Each message says what to fix.
import type { MoverError, MoverErrorCode } from '../api/index.ts';

export type FailureCode = Exclude<MoverErrorCode, 'ResticFailed'> | 'EngineFailed';

export interface Failure {
  type: 'error';
  code: FailureCode;
  message: string;
}

/** What a step gives, or why it could not. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Failure };

/** The protocol's MoverError for a failure, the fields in the order they came. */
export function moverError(failure: Failure | MoverError): MoverError {
  return { ...failure, code: failure.code === 'EngineFailed' ? 'ResticFailed' : failure.code };
}
