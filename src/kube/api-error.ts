// The one error type for answers from the Kubernetes API server: the HTTP
// status and the Status object's reason and message, so callers branch on
// meaning (not found, conflict, gone) instead of parsing text.

export interface StatusDetails {
  name?: string;
  kind?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;
  readonly method: string;
  readonly path: string;

  constructor(
    init: { status: number; reason: string; message: string; method: string; path: string; details?: StatusDetails },
    options?: ErrorOptions,
  ) {
    super(`${init.method} ${init.path}: ${init.status} ${init.reason}: ${init.message}`, options);
    this.name = 'ApiError';
    this.status = init.status;
    this.reason = init.reason;
    this.details = init.details;
    this.method = init.method;
    this.path = init.path;
  }

  /** Builds the error from a response body that may or may not be a Status object. */
  static fromResponse(method: string, path: string, status: number, body: string): ApiError {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    const st = isStatus(parsed) ? parsed : undefined;
    return new ApiError({
      status,
      reason: st?.reason ?? defaultReason(status),
      message: st?.message ?? (body.trim() || `HTTP ${status}`),
      method,
      path,
      ...(st?.details === undefined ? {} : { details: st.details }),
    });
  }
}

interface StatusObject {
  kind: 'Status';
  reason?: string;
  message?: string;
  details?: StatusDetails;
}

function isStatus(value: unknown): value is StatusObject {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status';
}

function defaultReason(status: number): string {
  switch (status) {
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 410:
      return 'Expired';
    case 422:
      return 'Invalid';
    default:
      return status >= 500 ? 'InternalError' : 'Unknown';
  }
}

export const isNotFound = (error: unknown): boolean => error instanceof ApiError && error.status === 404;
export const isConflict = (error: unknown): boolean => error instanceof ApiError && error.status === 409;
export const isAlreadyExists = (error: unknown): boolean =>
  error instanceof ApiError && error.status === 409 && error.reason === 'AlreadyExists';
export const isGone = (error: unknown): boolean => error instanceof ApiError && error.status === 410;
export const isForbidden = (error: unknown): boolean => error instanceof ApiError && error.status === 403;

/** Runs a create; an object that already exists is success (creates are idempotent). */
export async function ignoreAlreadyExists<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    return undefined;
  }
}

/** Runs a delete or patch; an object that is already gone is success. */
export async function ignoreNotFound(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
