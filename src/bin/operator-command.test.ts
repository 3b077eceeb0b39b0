import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const operator = (args: string[]) =>
  spawnSync(process.execPath, [new URL('./safehold.ts', import.meta.url).pathname, 'operator', ...args], {
    encoding: 'utf8',
    timeout: 20_000,
  });

describe('safehold operator', () => {
  // Number('abc') is NaN, and no count is ever at or above NaN: a bad limit would have meant no limit.
  it.each([
    ['--max-concurrent-movers', 'abc'],
    ['--max-concurrent-movers', '0'],
    ['--max-concurrent-restores', '2.5'],
  ])('refuses %s %s before it connects, naming the flag', (flag, value) => {
    const run = operator([flag, value]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`${flag} must be a whole number of at least 1 (got "${value}")`);
  });
});
