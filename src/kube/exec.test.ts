import { describe, expect, it } from 'vitest';
import { parseStatus } from './exec.ts';

describe('parseStatus', () => {
  it.each([
    ['{"metadata":{},"status":"Success"}', { exitCode: 0, timedOut: false, error: undefined }],
    [
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
      { exitCode: 3, timedOut: false, error: undefined },
    ],
    [
      '{"metadata":{},"status":"Failure","message":"container not found (\\"db\\")","reason":"InternalError"}',
      { exitCode: undefined, timedOut: false, error: 'container not found ("db")' },
    ],
    ['not json', { exitCode: undefined, timedOut: false, error: 'unreadable exec status: not json' }],
  ])('reads %s', (text, expected) => {
    expect(parseStatus(text)).toEqual(expected);
  });
});
