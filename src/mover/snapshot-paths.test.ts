import { describe, expect, it } from 'vitest';
import { depthBelow, inSnapshot, inVolume, normalVolumePath, restorePaths } from './snapshot-paths.ts';

describe('volume paths in a snapshot', () => {
  it.each([
    ['/', '/'],
    ['//etc//app.conf/', '/etc/app.conf'],
    ['/etc/', '/etc'],
  ])('normalizes %j to %j', (path, normal) => {
    expect(normalVolumePath(path)).toBe(normal);
  });

  it('puts a volume path under the folder the backup read', () => {
    expect(inSnapshot('/data', '/')).toBe('/data');
    expect(inSnapshot('/data/', '/etc/app.conf')).toBe('/data/etc/app.conf');
    expect(inSnapshot('/', '/etc')).toBe('/etc');
  });

  it('takes the folder off what restic prints, and nothing outside it', () => {
    expect(inVolume('/data', '/data')).toBe('/');
    expect(inVolume('/data', '/data/etc/app.conf')).toBe('/etc/app.conf');
    expect(inVolume('/data', '/data2/x')).toBeUndefined();
    expect(inVolume('/', '/etc')).toBe('/etc');
  });

  it('counts folder levels below a folder', () => {
    expect(depthBelow('/data/etc', '/data/etc')).toBe(0);
    expect(depthBelow('/data/etc', '/data/etc/app.conf')).toBe(1);
    expect(depthBelow('/data', '/data/etc/sub/x')).toBe(3);
    expect(depthBelow('/', '/etc')).toBe(1);
  });
});

describe('restorePaths', () => {
  it('asks for the whole volume when no path or the root is named', () => {
    expect(restorePaths([])).toEqual([]);
    expect(restorePaths(['/etc', '/'])).toEqual([]);
  });

  it('drops repeats and paths under another one', () => {
    expect(restorePaths(['/var/log/', '/etc/app.conf', '/etc', '/var/log', '/etc2'])).toEqual([
      '/etc',
      '/etc2',
      '/var/log',
    ]);
  });
});
