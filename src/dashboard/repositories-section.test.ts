import { describe, expect, it } from 'vitest';
import { repositoriesSection } from './repositories-section.ts';

const now = new Date('2026-11-22T12:00:00Z');

describe('the repositories section', () => {
  const section = repositoriesSection(
    [
      {
        name: 'offsite',
        status: {
          lastBackupTime: '2026-11-22T11:30:00Z',
          tenants: [
            {
              tenant: 'shop',
              lastCheckTime: '2026-11-22T10:00:00Z',
              checkOk: true,
              lastPruneTime: '2026-11-20T12:00:00Z',
              snapshots: 12,
              bytes: 3 * 2 ** 30,
            },
            {
              tenant: 'web',
              lastCheckTime: '2026-11-22T10:00:00Z',
              checkOk: false,
              checkMessage: 'pack <abc> is damaged',
            },
          ],
        },
      },
      {
        name: 'fresh',
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'False',
              reason: 'BucketMissing',
              message: 'bucket b does not exist: create it, or fix spec.s3.bucket',
              lastTransitionTime: '2026-11-22T11:50:00Z',
            },
          ],
        },
      },
    ],
    now,
  ).html;
  const row = (text: string) => new RegExp(`<tr>\\s*<td>${text}</td>([\\s\\S]*?)</tr>`).exec(section)?.[1] ?? '';

  it('shows each tenant: last check and its result, last prune, snapshots, size', () => {
    expect(row('offsite</td>\\s*<td>shop')).toMatch(
      /2h ago[\s\S]*class="good">ok[\s\S]*2d ago[\s\S]*>12<[\s\S]*3 GiB[\s\S]*30m ago/,
    );
  });

  it('shows a failed check in red with its message, escaped', () => {
    expect(row('offsite</td>\\s*<td>web')).toMatch(/class="bad">failed<\/span>: pack &lt;abc&gt; is damaged/);
  });

  it('lists a repository not yet maintained, before the others by name', () => {
    expect(row('fresh')).toContain('not checked or pruned yet');
    expect(section.indexOf('fresh')).toBeLessThan(section.indexOf('offsite'));
  });

  it("shows whether each repository is Ready, and a probe's finding in red with what to fix", () => {
    expect(row('fresh')).toMatch(
      /class="bad">BucketMissing<\/span>: bucket b does not exist: create it, or fix spec.s3.bucket/,
    );
    expect(row('offsite</td>\\s*<td>shop')).toContain('not probed yet');
  });
});
