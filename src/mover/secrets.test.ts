import { describe, expect, it } from 'vitest';
import { redacted, secretRedactor } from './secrets.ts';

describe('secretRedactor', () => {
  const redact = secretRedactor(['hunter2', undefined, '', 'AKIAEXAMPLE', 'AKIAEXAMPLE-longer-secret']);

  it.each([
    ['password hunter2 leaked', `password ${redacted} leaked`],
    ['key AKIAEXAMPLE-longer-secret and AKIAEXAMPLE', `key ${redacted} and ${redacted}`],
    ['hunter2hunter2', `${redacted}${redacted}`],
    ['nothing secret here', 'nothing secret here'],
  ])('%j', (text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it('leaves text alone when there are no secrets', () => {
    expect(secretRedactor([undefined, ''])('a b')).toBe('a b');
  });
});
