import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backupRepositorySpec, repositoryUrl } from '../api/backup-repository.ts';
import {
  presignS3,
  s3ErrorOf,
  s3ObjectLocation,
  S3PresignError,
  s3UriEncode,
  type PresignRequest,
} from './s3-presign.ts';

const example: PresignRequest = {
  method: 'GET',
  endpoint: 'https://s3.amazonaws.com',
  bucket: 'examplebucket',
  key: 'test.txt',
  region: 'us-east-1',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  expiresSeconds: 86_400,
  now: new Date('2013-05-24T00:00:00Z'),
};

const pathOf = (url: string) => url.slice(url.indexOf('/', url.indexOf('//') + 2), url.indexOf('?'));
const signatureOf = (url: string) => new URL(url).searchParams.get('X-Amz-Signature');

describe('presignS3', () => {
  it('reproduces the presigned GET of the AWS documentation (virtual-hosted, as it is there)', () => {
    // "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)", the worked example.
    expect(presignS3({ ...example, addressing: 'virtual-hosted' })).toBe(
      'https://examplebucket.s3.amazonaws.com/test.txt' +
        '?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
        '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
        '&X-Amz-Date=20130524T000000Z' +
        '&X-Amz-Expires=86400' +
        '&X-Amz-SignedHeaders=host' +
        '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
  });

  it('puts the bucket in the path by default, and region defaults to us-east-1', () => {
    const { region, ...withoutRegion } = example;
    expect(region).toBe('us-east-1');
    const url = presignS3(withoutRegion);
    expect(url.startsWith('https://s3.amazonaws.com/examplebucket/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&')).toBe(
      true,
    );
    expect(url).toBe(presignS3(example));
  });

  it('signs the canonical request SigV4 describes: encoded path under the endpoint prefix, host with its port', () => {
    const request: PresignRequest = {
      ...example,
      method: 'PUT',
      endpoint: 'http://127.0.0.1:7480/store/',
      bucket: 'bkt',
      key: 'dir/a b(1).txt',
      region: 'default',
      expiresSeconds: 900,
    };
    const query =
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fdefault%2Fs3%2Faws4_request' +
      '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host';
    const canonical = `PUT\n/store/bkt/dir/a%20b%281%29.txt\n${query}\nhost:127.0.0.1:7480\n\nhost\nUNSIGNED-PAYLOAD`;
    const toSign = `AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/default/s3/aws4_request\n${createHash('sha256').update(canonical).digest('hex')}`;
    const key = ['20130524', 'default', 's3', 'aws4_request'].reduce(
      (k, part) => createHmac('sha256', k).update(part).digest(),
      Buffer.from(`AWS4${example.secretAccessKey}`),
    );
    const signature = createHmac('sha256', key).update(toSign).digest('hex');
    expect(presignS3(request)).toBe(
      `http://127.0.0.1:7480/store/bkt/dir/a%20b%281%29.txt?${query}&X-Amz-Signature=${signature}`,
    );
  });

  it.each([
    ['plain.txt', 'plain.txt'],
    ['tenants/a/b.bin', 'tenants/a/b.bin'],
    ['with space', 'with%20space'],
    ['unreserved-._~', 'unreserved-._~'],
    ["sub-delims!'()*", 'sub-delims%21%27%28%29%2A'],
    ['a+b=c&d?e#f;g,h:i@j$k', 'a%2Bb%3Dc%26d%3Fe%23f%3Bg%2Ch%3Ai%40j%24k'],
    ['100%', '100%25'],
    ['ünïcødé/雪.txt', '%C3%BCn%C3%AFc%C3%B8d%C3%A9/%E9%9B%AA.txt'],
    ['emoji 🧊', 'emoji%20%F0%9F%A7%8A'],
    ['a//b/', 'a//b/'],
    ['/leading', '/leading'],
    ['..dots../.hidden', '..dots../.hidden'],
  ])('key %j is %s in the path', (key, encoded) => {
    expect(pathOf(presignS3({ ...example, key }))).toBe(`/examplebucket/${encoded}`);
  });

  it.each([
    ['http://127.0.0.1:7480', 'http://127.0.0.1:7480/examplebucket/test.txt'],
    ['http://127.0.0.1:7480/', 'http://127.0.0.1:7480/examplebucket/test.txt'],
    ['https://s3.example:443/', 'https://s3.example/examplebucket/test.txt'],
    ['http://s3.example:80', 'http://s3.example/examplebucket/test.txt'],
    ['http://s3.example:443', 'http://s3.example:443/examplebucket/test.txt'],
    ['https://S3.Example:8443/Store/', 'https://s3.example:8443/Store/examplebucket/test.txt'],
    ['https://s3.example/my%20store//', 'https://s3.example/my%20store/examplebucket/test.txt'],
    ['https://s3.example/a (b)', 'https://s3.example/a%20%28b%29/examplebucket/test.txt'],
    ['http://[::1]:9000', 'http://[::1]:9000/examplebucket/test.txt'],
  ])('endpoint %s gives %s', (endpoint, start) => {
    expect(presignS3({ ...example, endpoint }).startsWith(`${start}?`)).toBe(true);
  });

  it('signs the host as the Host header carries it: a default port changes nothing, another port does', () => {
    const implicit = presignS3({ ...example, endpoint: 'https://s3.example' });
    expect(presignS3({ ...example, endpoint: 'https://s3.example:443' })).toBe(implicit);
    expect(signatureOf(presignS3({ ...example, endpoint: 'https://s3.example:8443' }))).not.toBe(signatureOf(implicit));
  });

  it('binds the method, the key and the expiry into the signature', () => {
    const base = signatureOf(presignS3(example));
    expect(signatureOf(presignS3({ ...example, method: 'PUT' }))).not.toBe(base);
    expect(signatureOf(presignS3({ ...example, key: 'test.txt2' }))).not.toBe(base);
    expect(signatureOf(presignS3({ ...example, expiresSeconds: 86_399 }))).not.toBe(base);
  });

  it('signs a listing of the keys under a prefix (ListObjectsV2), its parameters in the signed query', () => {
    const list = (prefix: string) => presignS3({ ...example, key: '', list: { prefix, maxKeys: 100 } });
    const url = new URL(list('tenants/a b/keys/'));
    expect(url.pathname).toBe('/examplebucket/');
    expect(url.searchParams.get('list-type')).toBe('2');
    expect(url.searchParams.get('max-keys')).toBe('100');
    expect(url.searchParams.get('prefix')).toBe('tenants/a b/keys/');
    expect(url.search).toContain('prefix=tenants%2Fa%20b%2Fkeys%2F');
    expect(signatureOf(list('other/'))).not.toBe(signatureOf(list('tenants/a b/keys/')));
    expect(() => presignS3({ ...example, list: { prefix: '', maxKeys: 1 } })).toThrow(/no key/);
  });

  it('signs the next page of a listing, and a subresource or an admin API call with its arguments, in SigV4 order', () => {
    const page = new URL(
      presignS3({ ...example, key: '', list: { prefix: '', maxKeys: 1000, continuationToken: 'a/b c' } }),
    );
    expect(page.searchParams.get('continuation-token')).toBe('a/b c');
    const policy = new URL(presignS3({ ...example, key: '', query: { policy: '' } }));
    expect(policy.pathname).toBe('/examplebucket/');
    expect(policy.search).toMatch(/^\?X-Amz-Algorithm=.*&X-Amz-SignedHeaders=host&policy=&X-Amz-Signature=/);
    const admin = new URL(
      presignS3({ ...example, bucket: 'admin', key: 'user', query: { uid: 'alice', format: 'json' } }),
    );
    expect(admin.pathname).toBe('/admin/user');
    // Sorted by name: upper-case X-Amz-* first, then format before uid, whatever order they were given in.
    const names = [...admin.searchParams.keys()].slice(0, -1);
    expect(names).toEqual([...names].sort());
    expect(names.slice(-2)).toEqual(['format', 'uid']);
    const other = new URL(
      presignS3({ ...example, bucket: 'admin', key: 'user', query: { uid: 'bob', format: 'json' } }),
    );
    expect(signatureOf(other.href)).not.toBe(signatureOf(admin.href));
  });

  it("reads S3's error code and message, in XML or as radosgw's admin API answers in JSON", () => {
    expect(
      s3ErrorOf(
        '<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error>',
      ),
    ).toBe('SignatureDoesNotMatch (The request signature we calculated does not match)');
    expect(s3ErrorOf('<Error><Code>NoSuchBucket</Code></Error>')).toBe('NoSuchBucket');
    expect(s3ErrorOf('{"Code":"AccessDenied","RequestId":"tx0"}')).toBe('AccessDenied');
    expect(s3ErrorOf('Forbidden')).toBeUndefined();
  });

  it.each<[string, Partial<PresignRequest>, RegExp]>([
    ['no lifetime', { expiresSeconds: 0 }, /expiresSeconds/],
    ['more than seven days', { expiresSeconds: 604_801 }, /604800/],
    ['a fractional lifetime', { expiresSeconds: 1.5 }, /whole number/],
    ['an invalid date', { now: new Date('nonsense') }, /not a valid date/],
    ['an empty key', { key: '' }, /empty/],
    ['a .. segment', { key: 'tenants/../other' }, /'\.\.'/],
    ['a . segment', { key: './x' }, /'\.'/],
    ['a lone surrogate', { key: 'x\uD800' }, /surrogate/],
    ['a key over 1024 bytes', { key: 'é'.repeat(513) }, /1024/],
    ['a bucket name S3 refuses', { bucket: 'Bad_Bucket' }, /bucket/],
    ['an endpoint that is no URL', { endpoint: 's3.example' }, /not a URL/],
    ['an endpoint of another scheme', { endpoint: 'ftp://s3.example' }, /http or https/],
    ['an endpoint with credentials', { endpoint: 'http://ak:sk@s3.example' }, /only a scheme/],
    ['an endpoint with a query', { endpoint: 'http://s3.example/?x=1' }, /only a scheme/],
    ['an empty secret', { secretAccessKey: '' }, /access key/],
    ['a region with a slash', { region: 'a/b' }, /region/],
  ])('refuses %s', (_, change, message) => {
    expect(() => presignS3({ ...example, ...change })).toThrow(S3PresignError);
    expect(() => presignS3({ ...example, ...change })).toThrow(message);
  });

  it('signs the headers a request carries with the host, names in order and in lower case', () => {
    const headers = {
      'Content-Type': 'text/plain',
      'x-amz-meta-owner': ' ops  team ',
      'Content-MD5': 'XrY7u+Ae7tCTyyK7j1rNww==',
    };
    const request: PresignRequest = {
      ...example,
      method: 'PUT',
      endpoint: 'http://127.0.0.1:7480',
      bucket: 'bkt',
      key: 'k',
    };
    const url = presignS3({ ...request, headers });
    const query = url.slice(url.indexOf('?') + 1, url.indexOf('&X-Amz-Signature='));
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-md5;content-type;host;x-amz-meta-owner');
    const canonical = [
      'PUT',
      '/bkt/k',
      query,
      'content-md5:XrY7u+Ae7tCTyyK7j1rNww==\ncontent-type:text/plain\nhost:127.0.0.1:7480\nx-amz-meta-owner:ops team',
      '',
      'content-md5;content-type;host;x-amz-meta-owner',
      'UNSIGNED-PAYLOAD',
    ].join('\n');
    const toSign = `AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n${createHash('sha256').update(canonical).digest('hex')}`;
    const key = ['20130524', 'us-east-1', 's3', 'aws4_request'].reduce(
      (k, part) => createHmac('sha256', k).update(part).digest(),
      Buffer.from(`AWS4${example.secretAccessKey}`),
    );
    expect(signatureOf(url)).toBe(createHmac('sha256', key).update(toSign).digest('hex'));
    expect(signatureOf(presignS3({ ...request, headers: { ...headers, 'Content-Type': 'text/html' } }))).not.toBe(
      signatureOf(url),
    );
    expect(() => presignS3({ ...request, headers: { Host: 'other' } })).toThrow(/twice/);
    expect(() => presignS3({ ...request, headers: { 'bad name': 'x' } })).toThrow(/header name/);
  });

  it("keeps a key's '.' and '..' segments when the caller sends the path as signed", () => {
    const url = presignS3({ ...example, key: 'a/../b/./c', dotSegments: 'keep' });
    expect(pathOf(url)).toBe('/examplebucket/a/../b/./c');
  });
});

describe('s3UriEncode', () => {
  it('encodes every byte but the unreserved characters, with upper-case hex', () => {
    expect(s3UriEncode("AZaz09-._~ /!'()*é")).toBe('AZaz09-._~%20%2F%21%27%28%29%2A%C3%A9');
  });
});

describe('s3ObjectLocation', () => {
  it.each([
    ['s3:http://127.0.0.1:7480/bucket/tenants/a', 'http://127.0.0.1:7480', 'bucket', 'tenants/a'],
    ['s3:http://127.0.0.1:7480/bucket', 'http://127.0.0.1:7480', 'bucket', ''],
    ['s3:https://s3.example:443/bucket/', 'https://s3.example', 'bucket', ''],
    ['s3:https://s3.example/bucket//a/b/', 'https://s3.example', 'bucket', 'a/b'],
    ['s3:s3.amazonaws.com/bucket/p', 'https://s3.amazonaws.com', 'bucket', 'p'],
    ['s3://minio.local:9000/bucket/p', 'https://minio.local:9000', 'bucket', 'p'],
    ['s3:http://h/bucket/my%20tenant', 'http://h', 'bucket', 'my tenant'],
  ])('%s', (url, endpoint, bucket, prefix) => {
    expect(s3ObjectLocation(url)).toEqual({ ok: true, location: { endpoint, bucket, prefix } });
  });

  it('reads back what repositoryUrl writes', () => {
    const spec = backupRepositorySpec.parse({
      s3: {
        endpoint: 'http://rgw.storage.svc:7480/',
        bucket: 'backups',
        prefix: '/tenants/{namespace}/',
        accessKeyId: { namespace: 'safehold', name: 's3' },
        secretAccessKey: { namespace: 'safehold', name: 's3' },
      },
    });
    expect(s3ObjectLocation(repositoryUrl(spec, 'team-a'))).toEqual({
      ok: true,
      location: { endpoint: 'http://rgw.storage.svc:7480', bucket: 'backups', prefix: 'tenants/team-a' },
    });
  });

  it.each(['rest:http://h/bucket', '/srv/restic', 's3:http://h', 's3:http://h/', 's3:http://h/%zz'])(
    'refuses %s with a message naming it',
    (url) => {
      const result = s3ObjectLocation(url);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toContain(`"${url}"`);
    },
  );
});
