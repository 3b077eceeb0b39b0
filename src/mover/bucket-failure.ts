// What a bucket's S3 answer means for the run: a bucket that is not there, keys
// S3 refuses, or S3 unreachable or failing, each said with the bucket, the key
// and S3's own words (BucketError's message).
import type { Failure } from './failure.ts';
import { BucketError } from './s3-bucket.ts';

const refused = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AllAccessDisabled']);

/** The failure for an error of the source bucket (a backup) or the target bucket (a restore). */
export function bucketFailure(error: unknown, role: 'source' | 'target'): Failure {
  if (!(error instanceof BucketError)) throw error;
  if (error.s3Code === 'NoSuchBucket') {
    return { type: 'error', code: role === 'source' ? 'SourceMissing' : 'TargetMissing', message: error.message };
  }
  if (error.s3Code !== undefined && refused.has(error.s3Code)) {
    const fix = `the keys in BUCKET_ACCESS_KEY_ID/BUCKET_SECRET_ACCESS_KEY must be allowed to ${role === 'source' ? 'list and read' : 'list, write and delete'} its objects`;
    return { type: 'error', code: 'WrongCredentials', message: `${error.message}: ${fix}` };
  }
  return { type: 'error', code: role === 'source' ? 'SourceMissing' : 'UploadFailed', message: error.message };
}
