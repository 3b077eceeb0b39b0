import { describe, expect, it } from 'vitest';
import type { ObjectsRow } from '../core/index.ts';
import { stateSection } from './state-section.ts';

const now = new Date('2026-12-05T12:00:00Z');
const row = (over: Partial<ObjectsRow>): ObjectsRow => ({
  scope: 'Namespace',
  namespace: 'shop',
  state: 'protected',
  dump: 'shop/safehold-objects',
  lastBackup: '2026-12-05T10:00:00Z',
  nextRun: '2026-12-06T02:00:00Z',
  reason: 'objects stored by ApplicationDump shop/safehold-objects (on its schedule)',
  ...over,
});
const rows: ObjectsRow[] = [
  row({}),
  row({ scope: 'Cluster', namespace: 'safehold', dump: 'safehold/safehold-cluster-objects' }),
  row({
    scope: 'Bucket',
    namespace: undefined,
    name: 'photos',
    url: 'http://rgw:80',
    state: 'unprotected',
    dump: undefined,
    lastBackup: undefined,
    nextRun: undefined,
    reason: 'the reader safehold-reader cannot list it: AccessDenied',
  }),
];
const trOf = (page: string, key: string) =>
  new RegExp(`<tr class="(\\w+)" data-state="${key}">([\\s\\S]*?)</tr>`).exec(page);

describe('stateSection', () => {
  it('shows each part of the cluster’s state with its decision, last dump and why, UNPROTECTED ones counted', () => {
    const page = stateSection(rows, now, undefined).html;
    expect(page).toContain('1 UNPROTECTED');
    const bucket = trOf(page, 'Bucket//photos');
    expect(bucket?.[1]).toBe('unprotected');
    expect(bucket?.[2]).toContain('photos (http://rgw:80)');
    expect(bucket?.[2]).toContain('cannot list it: AccessDenied');
    const objects = trOf(page, 'Namespace/shop/');
    expect(objects?.[1]).toBe('protected');
    expect(objects?.[2]).toContain('2h');
  });

  it('shows a namespace’s own rows only on its page, without the cluster’s', () => {
    const page = stateSection(rows, now, 'shop').html;
    expect(trOf(page, 'Namespace/shop/')).not.toBeNull();
    expect(page).not.toContain('data-state="Cluster');
    expect(page).not.toContain('photos');
    expect(page).toContain('Every part is protected or excluded.');
    expect(stateSection(rows, now, 'empty').html).toBe('');
  });
});
