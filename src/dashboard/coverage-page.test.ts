import { describe, expect, it } from 'vitest';
import type { VolumeBackup } from '../api/index.ts';
import type { CoverageDecision, CoverageRow, Decision, LeaderView } from '../core/index.ts';
import { coveragePage } from './coverage-page.ts';

const now = new Date('2026-11-22T12:00:00Z');

const row = (namespace: string, name: string, decision: CoverageDecision, lastBackup?: string): CoverageRow => ({
  namespace,
  name,
  size: '1Gi',
  storageClass: 'fast',
  volumeMode: 'Filesystem',
  phase: 'Bound',
  decision,
  lastBackup,
  nextRun: decision.state === 'protected' ? '2026-11-22T12:20:00Z' : undefined,
  problems: [],
});

const guarded: Decision = {
  state: 'protected',
  policy: 'daily',
  rule: 'policy-selector',
  reason: 'policy daily selects it',
};
const noPolicy: Decision = {
  state: 'unprotected',
  cause: 'NoPolicy',
  reason: 'no policy selects it and none is the default',
};
const optedOut: Decision = {
  state: 'excluded',
  by: 'PersistentVolumeClaim',
  rule: 'pvc-annotation',
  reason: 'PVC shop/cache says safehold.io/backup=false',
};

const notBound: CoverageDecision = {
  state: 'unbound',
  policy: 'daily',
  rule: 'policy-selector',
  cause: 'StorageClassMissing',
  reason: 'Pending: StorageClass gone does not exist, so nothing provisions the PVC',
};

const state = (coverage: CoverageRow[], extra: Partial<LeaderView> = {}): LeaderView => ({
  role: 'leading',
  identity: 'operator-0',
  now,
  coverage,
  backups: [],
  restores: [],
  repositories: [],
  state: [],
  ...extra,
});

/** The <tr> of one volume, as rendered. */
const rowOf = (page: string, key: string) =>
  new RegExp(`<tr class="(\\w+)" data-volume="${key}">([\\s\\S]*?)</tr>`).exec(page);

describe('the coverage page', () => {
  it.each([
    ['shop/db', 'protected', /policy daily selects it/],
    ['shop/scratch', 'unprotected', /<strong class="bad">NoPolicy<\/strong>: no policy selects it/],
    ['shop/cache', 'excluded', /PVC shop\/cache says safehold\.io\/backup=false/],
    [
      'shop/pending',
      'unbound',
      /<strong class="warn">StorageClassMissing<\/strong>: Pending: StorageClass gone does not exist/,
    ],
  ])('renders %s with the class %s (its colour) and why', (key, className, why) => {
    const page = coveragePage(
      state([
        row('shop', 'db', guarded, '2026-11-22T09:00:00Z'),
        row('shop', 'scratch', noPolicy),
        row('shop', 'cache', optedOut),
        row('shop', 'pending', notBound),
      ]),
      undefined,
    );
    const found = rowOf(page, key);
    expect(found?.[1]).toBe(className);
    expect(found?.[2]).toMatch(why);
  });

  it('says UNPROTECTED, the last backup age and the next run, and "never" for a protected volume not yet backed up', () => {
    const page = coveragePage(
      state([
        row('shop', 'db', guarded, '2026-11-22T09:00:00Z'),
        row('shop', 'new', guarded),
        row('shop', 'scratch', noPolicy),
      ]),
      undefined,
    );
    expect(rowOf(page, 'shop/scratch')?.[2]).toMatch(/<td class="decision">UNPROTECTED<\/td>/);
    expect(rowOf(page, 'shop/db')?.[2]).toMatch(/3h ago/);
    expect(rowOf(page, 'shop/db')?.[2]).toMatch(/in 20m/);
    expect(rowOf(page, 'shop/new')?.[2]).toMatch(/<span class="warn">never<\/span>/);
  });

  it('counts each namespace on top, red where one is UNPROTECTED, and groups the rows by namespace', () => {
    const page = coveragePage(
      state([
        row('web', 'a', guarded),
        row('shop', 'db', guarded),
        row('shop', 'scratch', noPolicy),
        row('shop', 'cache', optedOut),
      ]),
      undefined,
    );
    const counts = /<table class="counts">([\s\S]*?)<\/table>/.exec(page)?.[1] ?? '';
    const cells = (ns: string) => [
      ...(new RegExp(`<tr class="(\\w*)">\\s*<td><a href="/\\?namespace=${ns}">${ns}</a></td>([\\s\\S]*?)</tr>`).exec(
        counts,
      ) ?? []),
    ];
    expect(cells('shop')[1]).toBe('unprotected');
    // protected, unbound, excluded, UNPROTECTED
    expect([...(cells('shop')[2] ?? '').matchAll(/>(\d+)</g)].map((m) => m[1])).toEqual(['1', '0', '1', '1']);
    expect(cells('web')[1]).toBe('');
    expect(page.indexOf('<h2 id="ns-shop">')).toBeLessThan(page.indexOf('<h2 id="ns-web">'));
  });

  it('shows one namespace when asked, with its failures only', () => {
    const failed = (namespace: string, name: string): VolumeBackup => ({
      metadata: { namespace, name },
      spec: { pvc: 'db', trigger: 'manual' },
      status: {
        phase: 'Failed',
        reason: 'MoverFailed',
        message: `${name} broke`,
        completionTime: '2026-11-22T11:00:00Z',
      },
    });
    const page = coveragePage(
      state([row('web', 'a', guarded), row('shop', 'db', guarded)], {
        backups: [failed('web', 'w1'), failed('shop', 's1')],
      }),
      'shop',
    );
    expect(page).toContain('data-volume="shop/db"');
    expect(page).not.toContain('data-volume="web/a"');
    expect(page).toContain('s1 broke');
    expect(page).not.toContain('w1 broke');
  });

  it('escapes every value it shows', () => {
    const hostile: Decision = {
      state: 'unprotected',
      cause: 'MalformedAnnotation',
      reason: 'PVC has safehold.io/backup="<script>alert(1)</script>"',
    };
    const page = coveragePage(state([row('shop', 'x"><img src=x>', hostile)]), undefined);
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('href="/volumes/shop/x%22%3E%3Cimg%20src%3Dx%3E"');
  });

  it('says so when there are no PVCs', () => {
    expect(coveragePage(state([]), undefined)).toContain('No PersistentVolumeClaims.');
  });
});

describe('the coverage page: proven or only protected', () => {
  it('shows each volume’s last restore drill: passed, FAILED with its reason, or never', () => {
    const passed = {
      ...row('shop', 'db', guarded, '2026-11-22T02:00:00Z'),
      verification: {
        at: '2026-11-22T10:00:00Z',
        verdict: 'Passed' as const,
        backup: 'db-1',
        message: undefined,
        reason: undefined,
        lastPassed: '2026-11-22T10:00:00Z',
      },
    };
    const failed = {
      ...row('shop', 'files', guarded, '2026-11-22T02:00:00Z'),
      verification: {
        at: '2026-11-22T11:00:00Z',
        verdict: 'Failed' as const,
        backup: 'files-1',
        message: 'Unverified: pack 3f2a damaged',
        reason: 'Unverified',
        lastPassed: undefined,
      },
    };
    const never = row('shop', 'cache', guarded, '2026-11-22T02:00:00Z');
    const page = coveragePage(state([passed, failed, never]), undefined);
    const cell = (key: string) => /<td class="verified">([\s\S]*?)<\/td>/.exec(rowOf(page, key)?.[2] ?? '')?.[1] ?? '';
    expect(cell('shop/db')).toMatch(/passed <span title="[^"]+">2h ago<\/span>/);
    expect(cell('shop/files')).toContain(
      '<strong class="bad" title="Unverified: pack 3f2a damaged">FAILED Unverified</strong>',
    );
    expect(cell('shop/cache')).toBe('<span class="warn">never</span>');
  });
});
