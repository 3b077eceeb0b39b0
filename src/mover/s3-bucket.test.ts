import { describe, expect, it } from 'vitest';
import { BucketError, parseListPage } from './s3-bucket.ts';

const page = (contents: string, tail: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>photos</Name>${contents}${tail}</ListBucketResult>`;
const entry = (key: string, size = 3) =>
  `<Contents><Key>${key}</Key><LastModified>2026-03-01T10:00:00.123Z</LastModified><ETag>&quot;900150983cd24fb0d6963f7d28e17f72&quot;</ETag><Size>${size}</Size><StorageClass>STANDARD</StorageClass></Contents>`;

describe('parseListPage', () => {
  it('reads keys URL-encoded (space as %20 or +), sizes, times and ETags without quotes, and the next token', () => {
    const xml = page(
      entry('a%20b%2Bc/%2E%2E/%C3%BC') + entry('x+y', 0),
      '<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><NextContinuationToken>1ue&amp;Q</NextContinuationToken>',
    );
    expect(parseListPage(xml)).toEqual({
      objects: [
        {
          key: 'a b+c/../ü',
          size: 3,
          lastModified: '2026-03-01T10:00:00.123Z',
          etag: '900150983cd24fb0d6963f7d28e17f72',
        },
        { key: 'x y', size: 0, lastModified: '2026-03-01T10:00:00.123Z', etag: '900150983cd24fb0d6963f7d28e17f72' },
      ],
      nextToken: '1ue&Q',
    });
  });

  it('keeps keys as the XML has them when S3 did not encode them, and ends on the last page', () => {
    const parsed = parseListPage(page(entry('100%25 &amp; &lt;more&gt;'), '<IsTruncated>false</IsTruncated>'));
    expect(parsed.objects.map((object) => object.key)).toEqual(['100%25 & <more>']);
    expect(parsed.nextToken).toBeUndefined();
  });

  it.each([
    ['an error document', '<Error><Code>AccessDenied</Code></Error>', /not a ListBucketResult/],
    ['a truncated page without a token', page('', '<IsTruncated>true</IsTruncated>'), /no continuation token/],
    ['an entry without a size', page('<Contents><Key>a</Key></Contents>', ''), /without a key, size or time/],
  ])('refuses %s', (_, xml, message) => {
    expect(() => parseListPage(xml)).toThrow(BucketError);
    expect(() => parseListPage(xml)).toThrow(message);
  });
});
