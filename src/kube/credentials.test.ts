import { describe, expect, it } from 'vitest';
import { serviceAccountCredentials, userCredentials, type CredentialIo } from './credentials.ts';

/** Files in memory; every write makes a new version, as a rename by the kubelet would. */
function memoryFiles(initial: Record<string, string>) {
  const files = new Map(Object.entries(initial));
  const versions = new Map<string, number>();
  let now = 0;
  let reads = 0;
  const io: CredentialIo = {
    readFile: (path) => {
      reads += 1;
      const content = files.get(path);
      return content === undefined
        ? Promise.reject(Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' }))
        : Promise.resolve(content);
    },
    fileVersion: (path) =>
      files.has(path)
        ? Promise.resolve(String(versions.get(path) ?? 0))
        : Promise.reject(Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })),
    now: () => now,
  };
  return {
    io,
    write: (path: string, content: string) => {
      files.set(path, content);
      versions.set(path, (versions.get(path) ?? 0) + 1);
    },
    advance: (ms: number) => (now += ms),
    reads: () => reads,
  };
}

describe('userCredentials', () => {
  it('reads client certificates from files and names the user and file when one is missing', async () => {
    const fs = memoryFiles({ '/k/alice.crt': 'CERT' });
    const source = userCredentials(
      'kubeconfig user "alice"',
      { clientCertificate: { file: '/k/alice.crt' }, clientKey: { file: '/k/alice.key' }, unsupported: [] },
      fs.io,
    );
    await expect(source.current()).rejects.toThrow('kubeconfig user "alice": client-key /k/alice.key: no such file');
    fs.write('/k/alice.key', 'KEY');
    expect(await source.current()).toEqual({ cert: 'CERT', key: 'KEY' });
  });

  it('re-reads a tokenFile when it changes, and once a minute anyway', async () => {
    const fs = memoryFiles({ '/t': 'one\n' });
    const source = userCredentials('kubeconfig user "u"', { tokenFile: '/t', unsupported: [] }, fs.io);
    expect(await source.current()).toEqual({ authorization: 'Bearer one' });
    expect(await source.current()).toEqual({ authorization: 'Bearer one' });
    expect(fs.reads()).toBe(1);
    fs.write('/t', 'two');
    expect(await source.current()).toEqual({ authorization: 'Bearer two' });
    fs.advance(60_000);
    await source.current();
    expect(fs.reads()).toBe(3);
  });

  it('sends basic auth, and no retry after a 401 for static credentials', async () => {
    const source = userCredentials(
      'kubeconfig user "u"',
      { basic: { username: 'me', password: 'pw' }, unsupported: [] },
      memoryFiles({}).io,
    );
    const credential = await source.current();
    expect(credential.authorization).toBe(`Basic ${Buffer.from('me:pw').toString('base64')}`);
    expect(source.refused(credential)).toBe(false);
  });

  it('refuses a certificate without its key', () => {
    expect(() =>
      userCredentials('kubeconfig user "u"', { clientCertificate: { data: 'C' }, unsupported: [] }, memoryFiles({}).io),
    ).toThrow('kubeconfig user "u": client-certificate is set without client-key');
  });
});

describe('serviceAccountCredentials', () => {
  it('follows the projected token as the kubelet rotates it', async () => {
    const fs = memoryFiles({ '/sa/token': 'first' });
    const source = serviceAccountCredentials('/sa/token', fs.io);
    expect(await source.current()).toEqual({ authorization: 'Bearer first' });
    fs.write('/sa/token', 'second');
    expect(await source.current()).toEqual({ authorization: 'Bearer second' });
  });
});
