import { describe, expect, it } from 'vitest';
import { withoutQuery } from './upload.ts';

describe('upload messages', () => {
  it('show the URL without its query string', () => {
    expect(withoutQuery('https://s3.example/bucket/key?X-Amz-Signature=abc#x')).toBe('https://s3.example/bucket/key');
    expect(withoutQuery('not a url?secret')).toBe('(an invalid URL)');
  });
});
