import { describe, expect, it } from 'vitest';
import { manifestLines, parseManifest, type ManifestObject } from './bucket-manifest.ts';

const object = (key: string, file = `objects/${key}`): ManifestObject => ({
  key,
  file,
  size: 3,
  etag: '900150983cd24fb0d6963f7d28e17f72',
  lastModified: '2026-01-02T03:04:05.000Z',
  contentType: 'text/plain',
  metadata: { owner: 'ops' },
});

const text = (objects: ManifestObject[]) => [...manifestLines({ bucket: 'photos', prefix: '' }, objects)].join('');

describe('a bucket manifest', () => {
  it('reads back what was written', () => {
    const objects = [object('a'), object('b%D/c')];
    const parsed = parseManifest(text(objects));
    expect(parsed).toEqual({
      ok: true,
      manifest: {
        header: { format: 'safehold.io/bucket-manifest/v1', bucket: 'photos', prefix: '', objects: 2 },
        objects,
      },
    });
  });

  it('reads an empty bucket', () => {
    expect(parseManifest(text([]))).toMatchObject({ ok: true, manifest: { objects: [] } });
  });

  const whole = text([object('a'), object('b')]).split('\n');
  it.each([
    ['an empty file', '', /no header/],
    ['no trailer (cut short)', whole.slice(0, 3).join('\n'), /no trailer/],
    ['a cut last line', text([object('a')]).slice(0, -5), /not JSON|no trailer/],
    ['a trailer counting other lines', whole.join('\n').replace('"lines":2', '"lines":3'), /trailer counts 3/],
    ['a header counting other objects', whole.join('\n').replace('"objects":2', '"objects":1'), /header counts 1/],
    ['no header', whole.slice(1).join('\n'), /header/],
    ['another format', whole.join('\n').replace('bucket-manifest/v1', 'bucket-manifest/v9'), /header/],
    ['a line after the trailer', `${whole.join('\n')}${JSON.stringify(object('c'))}\n`, /after the trailer/],
    ['a key twice', text([object('a'), object('a', 'objects/x')]), /key "a" twice/],
    ['a file twice', text([object('a'), object('b', 'objects/a')]), /file "objects\/a" twice/],
    ['a file leaving its folder', text([object('a', 'objects/../../etc/passwd')]), /not a plain relative path/],
    ['an object line without a size', whole.join('\n').replace('"size":3,', ''), /not an object line/],
  ])('refuses %s', (_, manifest, error) => {
    const parsed = parseManifest(manifest);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(error);
  });
});
