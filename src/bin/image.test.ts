// The image is built and run in test/image.test.ts; beside that,
// this holds its definition to what the code needs: the pinned Node.js and restic, every
// program the mover calls, a non-root default user, and the chart's version.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const dockerfile = read('Dockerfile');
const arg = (name: string) => new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(dockerfile)?.[1];

describe('the image definition', () => {
  it('pins the Node.js, restic and etcd the project pins', () => {
    expect(arg('NODE_VERSION')).toBe(read('.node-version').trim());
    expect(arg('RESTIC_VERSION')).toBe(/^RESTIC_VERSION=(\S+)$/m.exec(read('testenv/scripts/versions.sh'))?.[1]);
    expect(arg('ETCD_VERSION')).toBe(/^ETCD_VERSION=(\S+)$/m.exec(read('testenv/scripts/versions.sh'))?.[1]);
  });

  it('installs every program the mover runs', () => {
    const packages = /apt-get install[^\n]*\n?[^\n]*/.exec(dockerfile)?.[0] ?? '';
    // rbd diff (ceph-common), blockdev (util-linux), qemu-img for block images (qemu-utils),
    // git and ssh (openssh-client) for a Git repository's bundle.
    for (const name of ['ceph-common', 'util-linux', 'qemu-utils', 'ca-certificates', 'git', 'openssh-client'])
      expect(packages, name).toContain(name);
    expect(dockerfile).toContain('/usr/local/bin/restic');
    // An etcd snapshot: etcdctl saves it, etcdutl checks it.
    expect(dockerfile).toContain('COPY --from=etcd /out/etcdctl /out/etcdutl /usr/local/bin/');
    const mover = readFileSync(join(root, 'src/mover/rbd.ts'), 'utf8') + read('src/mover/block-device.ts');
    expect(mover).toMatch(/'rbd'/);
    expect(mover).toMatch(/'blockdev'/);
  });

  it('runs as a non-root user unless a Pod asks otherwise', () => {
    const user = [...dockerfile.matchAll(/^USER (\d+)(?::(\d+))?$/gm)].at(-1);
    expect(Number(user?.[1])).toBeGreaterThan(0);
  });

  it('is the version the chart and the package name', () => {
    const chart = parse(read('charts/safehold/Chart.yaml')) as { version: string; appVersion: string };
    const pkg = JSON.parse(read('package.json')) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.version).toBe(pkg.version);
  });
});
