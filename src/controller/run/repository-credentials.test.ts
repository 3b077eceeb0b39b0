import { describe, expect, it } from 'vitest';
import { ApiError } from '../../kube/index.ts';
import { secretProblem } from './repository-credentials.ts';

const apiError = (status: number, reason: string) =>
  new ApiError({ status, reason, message: 'm', method: 'GET', path: '/api/v1/namespaces/tenants/secrets/s3' });
const ref = { namespace: 'tenants', name: 's3' };

describe('secretProblem', () => {
  it('names a missing Secret and where it is referenced', () => {
    expect(secretProblem(apiError(404, 'NotFound'), ref, 'BackupRepository offsite')).toBe(
      'Secret tenants/s3 not found (BackupRepository offsite)',
    );
  });

  it("says a Secret outside Safehold's namespace is out of its reach, and what to do", () => {
    expect(secretProblem(apiError(403, 'Forbidden'), ref, 'BackupRepository offsite')).toMatch(
      /^Safehold may not read Secret tenants\/s3 \(BackupRepository offsite\): .*keep the repository's Secrets there$/,
    );
  });

  it('leaves other errors to the caller', () => {
    expect(secretProblem(apiError(500, 'InternalError'), ref, 'x')).toBeUndefined();
    expect(secretProblem(new Error('socket hang up'), ref, 'x')).toBeUndefined();
  });
});
