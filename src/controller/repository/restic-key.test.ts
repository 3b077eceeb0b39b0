import { describe, expect, it } from 'vitest';
import { passwordOpensKey } from './restic-key.ts';

// Written by `restic init` (0.18.1) with the password "correct horse".
const file = JSON.stringify({
  created: '2026-12-03T16:58:39.336081425Z',
  username: 'root',
  hostname: 'vm',
  kdf: 'scrypt',
  N: 32768,
  r: 8,
  p: 1,
  salt: 'Jf/zIHvzFMHT/6Hi12CMn5QiANAbfiE9HcZ73JWOWWPSGE8wCdtI+KVOzuPD/2hmJXDA6EY+vfGhuidC7qF3iA==',
  data: 'E28L5gsWt6VqH5lGCjmUR1NEA1cbAgrZI1Rv1xBnqJQc86XV1asKeVvBEswc2OA7UN8Gnb1BrLirZi7VkAQoXmifGZ9M//6BPSo6obVNeIDxCVjnCAZ/Fpdc+NZ5aYNq0pRvuONIggGY+99N/Tf13kearMy5C0P9MHR4BSASt3fPkPuuqa32C107QDUhPLZjyIveCTrEtphSxVoqE4YrdA==',
});

describe('passwordOpensKey', () => {
  it('opens a key restic wrote with its password, and not with another', async () => {
    expect(await passwordOpensKey(file, 'correct horse')).toBe('opens');
    expect(await passwordOpensKey(file, 'correct horse ')).toBe('does-not-open');
    expect(await passwordOpensKey(file, '')).toBe('does-not-open');
  });

  it('says when a file is not a restic key file at all', async () => {
    expect(await passwordOpensKey('<Error/>', 'x')).toBe('not-a-key');
    expect(
      await passwordOpensKey(JSON.stringify({ kdf: 'scrypt', N: 2 ** 30, r: 8, p: 1, salt: '', data: '' }), 'x'),
    ).toBe('not-a-key');
  });
});
