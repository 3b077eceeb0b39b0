// A GitOps repository as a dump (issue 21, M11): an ApplicationDump with
// spec.git mirrors a repository served over HTTP with basic auth (the
// credentials from a Secret with the keys a Flux GitRepository reads) on each
// run, into the tenant's repository as one verified bundle. The repository
// then changes (a commit, a deleted tag), and the earlier bundle, downloaded
// with `safehold dump --application --backup`, verifies and clones into the
// branches and tags as they were. A wrong password and a missing Secret fail,
// naming the URL or the Secret and never printing the password.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { ApplicationDump, DumpRun } from '../src/api/index.ts';
import type { ObjectsRow } from '../src/core/index.ts';
import { isNotFound, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { tools } from '../testenv/paths.ts';
import { clientAs, createNamespace, deleteNamespace, uniqueName, waitFor } from './support/cluster.ts';
import { git, gitHttpServer, listen, makeSourceRepository, refsOf } from './support/git-server.ts';
import {
  freePort,
  installWithRepository,
  metricValue,
  runOperatorHere,
  safehold,
  safeholdToFile,
  waitForRun,
  type OperatorHere,
} from './support/safehold.ts';

const login = { username: 'flux', password: `ghp-${randomBytes(12).toString('hex')}` };

describe('a Git repository as a dump', () => {
  let client: KubeClient;
  let operator: OperatorHere | undefined;
  const id = uniqueName('gitdump');
  const system = `safehold-${id}`;
  const repository = `repo-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'git-dump-'));
  const served = join(work, 'served');
  const source = join(served, 'flux-system.git');
  const server = gitHttpServer(served, login);
  let url = '';
  let tenant = '';
  let metricsPort = 0;
  /** The operator's safehold_state_protected for one GitRepository: 1, 0, or undefined when not exported. */
  const gitProtected = async (name: string) =>
    metricValue(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(), 'safehold_state_protected', {
      scope: 'Git',
      namespace: tenant,
      name,
    });

  beforeAll(async () => {
    client = clientAs('admin');
    mkdirSync(served);
    await makeSourceRepository(work, source);
    url = `http://127.0.0.1:${await listen(server)}/flux-system.git`;
    await installWithRepository(client, { system, id, bucket: `safehold-${id}`, repository });
    tenant = await createNamespace(client, 'git-tenant');
    await client.create(kinds.secret, {
      metadata: { name: 'flux-system', namespace: tenant },
      stringData: login,
    } as KubeObject);
    // Flux's GitRepository CRD, as Flux installs it (the CRD only: no source-controller runs).
    for (const doc of parseAllDocuments(
      readFileSync(join(tools.fluxCrds, 'source.toolkit.fluxcd.io_gitrepositories.yaml'), 'utf8'),
    )) {
      const crd = doc.toJS() as KubeObject | null;
      if (crd !== null) await client.create(kinds.customResourceDefinition, crd).catch(() => undefined);
    }
    await waitFor('the GitRepository CRD served', () =>
      client.list(kinds.fluxGitRepository).then(
        () => true,
        () => false,
      ),
    );
    metricsPort = await freePort();
    operator = await runOperatorHere(system, id, { metricsPort });
  }, 300_000);

  afterAll(async () => {
    await operator?.stop();
    await new Promise((resolve) => server.close(resolve));
    if (tenant !== '') await deleteNamespace(client, tenant);
    await client.delete(kinds.backupRepository, { name: repository }).catch(() => undefined);
    await deleteNamespace(client, system);
    rmSync(work, { recursive: true, force: true });
    client.close();
  });

  const declare = (name: string, git: object) =>
    client.create(kinds.applicationDump, {
      metadata: { name, namespace: tenant },
      spec: { git, repository },
    } as KubeObject);
  const runNow = async (dump: string, name: string, outcome: 'Succeeded' | 'Failed' = 'Succeeded') => {
    await client.create(kinds.dumpRun, { metadata: { name, namespace: tenant }, spec: { dump } } as KubeObject);
    return waitForRun<DumpRun>(client, kinds.dumpRun, tenant, name, { outcome, timeoutMs: 300_000 });
  };
  /** The stored bundle of one run, saved to a file. */
  const bundleOf = async (run: string) => {
    const file = join(work, `${run}.bundle`);
    const got = await safeholdToFile(['dump', '--application', `${tenant}/flux-system`, '--backup', run], file);
    expect(got.code, got.stderr).toBe(0);
    return file;
  };

  it('mirrors every branch and tag; the earlier bundle gives the repository back as it was', async () => {
    await declare('flux-system', { url, secretRef: { name: 'flux-system' } });
    const before = await refsOf(source);
    const first = await runNow('flux-system', 'git-1');
    expect(first.status).toMatchObject({ fileName: 'repository.bundle' });
    expect(first.status?.message).toContain(`from the Git repository ${url}`);

    // The repository moves on: a commit on main, a tag deleted.
    const clone = join(work, 'clone');
    await git(['clone', '--quiet', source, clone]);
    writeFileSync(join(clone, 'apps.yaml'), 'apps: podinfo 6.6\n');
    await git(['commit', '--quiet', '--all', '-m', 'apps: podinfo 6.6'], clone);
    await git(['push', '--quiet', 'origin', 'main'], clone);
    await git(['-C', source, 'tag', '--delete', 'v0.1.0']);
    const after = await refsOf(source);
    expect(after).not.toEqual(before);
    await runNow('flux-system', 'git-2');

    // Each stored bundle verifies, and clones into the refs of its moment.
    for (const [run, refs] of [
      ['git-1', before],
      ['git-2', after],
    ] as const) {
      const file = await bundleOf(run);
      const check = join(work, `${run}-check`);
      await git(['init', '--quiet', '--bare', check]);
      await git(['-C', check, 'bundle', 'verify', file]);
      const restored = join(work, `${run}-restored.git`);
      await git(['clone', '--quiet', '--mirror', file, restored]);
      expect(await refsOf(restored), run).toEqual(refs);
    }
  });

  it('fails on a password the server refuses, naming the URL, and stores nothing', async () => {
    await client.create(kinds.secret, {
      metadata: { name: 'wrong', namespace: tenant },
      stringData: { username: login.username, password: 'not-the-password' },
    } as KubeObject);
    await declare('refused', { url, secretRef: { name: 'wrong' } });
    const failed = await runNow('refused', 'refused-1', 'Failed');
    expect(failed.status?.reason).toBe('SourceMissing');
    expect(failed.status?.message).toContain(url);
    expect(JSON.stringify(failed.status)).not.toContain('not-the-password');
    expect(failed.status?.snapshotId).toBeUndefined();
  });

  it('fails on a Secret that is not there, naming it and the field', async () => {
    await declare('no-secret', { url, secretRef: { name: 'missing' } });
    const failed = await runNow('no-secret', 'no-secret-1', 'Failed');
    expect(failed.status?.reason).toBe('SecretNotFound');
    expect(failed.status?.message).toBe(
      `Secret ${tenant}/missing (ApplicationDump ${tenant}/no-secret spec.git.secretRef) not found`,
    );
  });

  it("mirrors every Flux GitRepository with its own Secret, and a policy's URLs, once a policy asks", async () => {
    await client.create(kinds.fluxGitRepository, {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'infra', namespace: tenant },
      spec: { interval: '10m', url, secretRef: { name: 'flux-system' }, ref: { branch: 'main' } },
    } as KubeObject);
    // Another repository no dump mirrors yet: found and exported UNPROTECTED; infra is mirrored already (its URL is
    // the first journey's dump's).
    await client.create(kinds.fluxGitRepository, {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'apps', namespace: tenant },
      spec: { interval: '10m', url: `${url.replace(/\.git$/, '')}-apps.git`, ref: { branch: 'main' } },
    } as KubeObject);
    await waitFor('the GitRepositories exported', async () => (await gitProtected('apps')) === 0);
    expect(await gitProtected('infra')).toBe(1);
    const policy = `policy-${id}`;
    await client.create(kinds.backupPolicy, {
      metadata: { name: policy },
      spec: {
        selector: { namespaceSelector: { matchLabels: { 'git.safehold.test/id': id } } },
        repository: { name: repository },
        git: { schedule: { cron: '0 5 * * *' }, urls: [{ name: 'local', url: `file://${source}` }] },
      },
    } as KubeObject);
    try {
      let made: ApplicationDump | undefined;
      await waitFor('the Git dump beside the GitRepository', async () => {
        made = await client
          .get<ApplicationDump>(kinds.applicationDump, { namespace: tenant, name: 'safehold-git-infra' })
          .catch(() => undefined);
        return made !== undefined;
      });
      expect(made?.spec).toMatchObject({
        git: { url, secretRef: { name: 'flux-system' } },
        schedule: { cron: '0 5 * * *' },
        repository,
      });
      expect(made?.metadata.labels).toMatchObject({
        'safehold.io/declared-by': 'policy',
        'safehold.io/policy': policy,
      });
      await waitFor('the other repository exported as protected', async () => (await gitProtected('apps')) === 1);
      const done = await runNow('safehold-git-infra', 'infra-1');
      expect(done.status?.bytes).toBeGreaterThan(0);
      // The repository is covered, and says by which dump.
      const status = await safehold(['status', '--objects', '-n', tenant, '-o', 'json']);
      expect(status.code, status.stderr).toBe(0);
      expect(
        (JSON.parse(status.stdout) as ObjectsRow[]).find((r) => r.scope === 'Git' && r.name === 'infra'),
      ).toMatchObject({
        state: 'protected',
        url,
        dump: `${tenant}/safehold-git-infra`,
      });
      await waitFor("the Git dump of the policy's URL", () =>
        client.get(kinds.applicationDump, { namespace: system, name: 'safehold-git-local' }).then(
          () => true,
          () => false,
        ),
      );
      // No policy asks any more: the dumps it made go (their bundles stay in the repository).
      await client.delete(kinds.backupPolicy, { name: policy });
      await waitFor('the Git dump deleted', () =>
        client.get(kinds.applicationDump, { namespace: tenant, name: 'safehold-git-infra' }).then(
          () => false,
          (error: unknown) => isNotFound(error),
        ),
      );
    } finally {
      await client.delete(kinds.backupPolicy, { name: policy }).catch(() => undefined);
    }
  });
});
