import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { waitFor } from './wait-deadline.ts';

describe('waitFor', () => {
  it('returns the object once it is done', async () => {
    let polls = 0;
    const done = await waitFor({
      what: 'VolumeBackup team/data-1',
      timeoutMs: 10_000,
      intervalMs: 1,
      nowMs: () => 0,
      get: () => Promise.resolve(++polls),
      done: (n) => n === 3,
      describe: String,
    });
    expect(done).toBe(3);
  });

  it('gives up at the deadline, naming the object and where it stands', async () => {
    let now = 0;
    const waiting = waitFor({
      what: 'VolumeBackup team/data-1',
      timeoutMs: 90_000,
      intervalMs: 1,
      nowMs: () => now,
      get: () => {
        now += 30_000;
        return Promise.resolve({ phase: 'Running', message: 'the mover is copying the volume' });
      },
      done: () => false,
      describe: (b) => `${b.phase}: ${b.message}`,
    });
    await expect(waiting).rejects.toThrow(
      'gave up waiting for VolumeBackup team/data-1 after 90s (--timeout): it is Running: the mover is copying the volume',
    );
  });
});

describe('--timeout', () => {
  it.each([
    ['backup', 'ns/pvc', '--wait'],
    ['restore', 'ns/pvc', '--wait'],
    ['ls', 'ns/pvc'],
    ['dump', 'ns/pvc', '/a'],
  ])('is refused before anything is read when it is no duration (%s)', (...command) => {
    const result = spawnSync(
      process.execPath,
      [new URL('../bin/safehold.ts', import.meta.url).pathname, ...command, '--timeout', 'soon'],
      { encoding: 'utf8' },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("option '--timeout <duration>' argument 'soon' is invalid");
    expect(result.stderr).toContain('"soon" is not a duration such as 90s, 30m or 2h');
  });
});
