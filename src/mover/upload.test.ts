import { describe, expect, it } from 'vitest';
import { s3ErrorOf, withoutQuery } from './upload.ts';

describe('upload messages', () => {
  it('show the URL without its query string', () => {
    expect(withoutQuery('https://s3.example/bucket/key?X-Amz-Signature=abc#x')).toBe('https://s3.example/bucket/key');
    expect(withoutQuery('not a url?secret')).toBe('(an invalid URL)');
  });

  it("read S3's error code and message", () => {
    expect(
      s3ErrorOf(
        '<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error>',
      ),
    ).toBe('SignatureDoesNotMatch (The request signature we calculated does not match)');
    expect(s3ErrorOf('<Error><Code>NoSuchBucket</Code></Error>')).toBe('NoSuchBucket');
    expect(s3ErrorOf('Forbidden')).toBeUndefined();
  });
});
