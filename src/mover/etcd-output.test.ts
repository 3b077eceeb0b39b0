import { describe, expect, it } from 'vitest';
import { etcdClientSaid, etcdHint, parseSnapshotStatus } from './etcd-output.ts';

/** A log line etcdctl 3.6 writes to stderr when a request gives up. */
const logLine = (error: string) =>
  JSON.stringify({ level: 'warn', logger: 'etcd-client', msg: 'retrying of unary invoker failed', attempt: 0, error });
const files = { caFile: '/pki/ca.crt', certFile: '/pki/c.crt', keyFile: '/pki/c.key' };

describe("etcd's clients, as a failure says them", () => {
  const cases: { name: string; stderr: string; endpoint?: string; said: string; hint: RegExp | undefined }[] = [
    {
      name: 'nobody listens',
      stderr: `${logLine('rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:42999: connect: connection refused"')}\nFailed to get the status of endpoint https://127.0.0.1:42999 (context deadline exceeded)\n`,
      said: 'dial tcp 127.0.0.1:42999: connect: connection refused',
      hint: /^no etcd listens there: .*spec\.etcd\.nodeSelector.*spec\.etcd\.endpoints/,
    },
    {
      name: "a CA that is not etcd's",
      stderr: logLine(
        'rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"',
      ),
      said: 'authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority',
      hint: /^etcd's serving certificate is not signed by \/pki\/ca\.crt \(spec\.etcd\.certificates\.caFile\)/,
    },
    {
      name: 'a client certificate etcd refuses (it closes the connection)',
      stderr: logLine(
        'rpc error: code = DeadlineExceeded desc = latest balancer error: write tcp 127.0.0.1:42746->127.0.0.1:42379: write: broken pipe',
      ),
      said: 'write tcp 127.0.0.1:42746->127.0.0.1:42379: write: broken pipe',
      hint: /^etcd refused the client certificate \/pki\/c\.crt \(spec\.etcd\.certificates\.certFile\)/,
    },
    {
      name: 'http:// where etcd speaks TLS',
      stderr: logLine(
        'rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = "error reading server preface: EOF"',
      ),
      endpoint: 'http://127.0.0.1:2379',
      said: 'error reading server preface: EOF',
      hint: /^etcd speaks TLS there: use https:\/\//,
    },
    {
      name: 'a file etcdctl cannot open (no log line, its Error: line)',
      stderr: 'Error: open /pki/nope.crt: no such file or directory\n',
      said: 'open /pki/nope.crt: no such file or directory',
      hint: undefined,
    },
    { name: 'nothing at all', stderr: '', said: 'it printed nothing', hint: undefined },
  ];
  for (const c of cases)
    it(c.name, () => {
      const said = etcdClientSaid(c.stderr);
      expect(said).toBe(c.said);
      const hint = etcdHint(said, c.endpoint ?? 'https://127.0.0.1:2379', files);
      if (c.hint === undefined) expect(hint).toBeUndefined();
      else expect(hint).toMatch(c.hint);
    });
});

describe('parseSnapshotStatus', () => {
  it("reads etcdutl's JSON, and nothing else", () => {
    expect(
      parseSnapshotStatus('{"hash":1766174835,"revision":2,"totalKey":1,"totalSize":28672,"version":"3.6.0"}'),
    ).toEqual({ hash: 1766174835, revision: 2, totalKey: 1, totalSize: 28672, version: '3.6.0' });
    expect(parseSnapshotStatus('null')).toBeUndefined();
    expect(parseSnapshotStatus('Error: invalid database')).toBeUndefined();
  });
});
