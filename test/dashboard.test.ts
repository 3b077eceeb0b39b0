// The dashboard as an admin sees it, in a real browser, from the operator's own
// HTTP server: a protected volume green with its backup, an UNPROTECTED one red
// with its cause, an excluded one grey, a failed run under "Recent failures",
// the volume's history with its charts; a standby replica says it stands by.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoverageRecord } from '../src/core/index.ts';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { repoRoot, tools } from '../testenv/paths.ts';
import {
  boundVolumePath,
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  uniqueName,
  waitFor,
} from './support/cluster.ts';
import { backUpNow, installWithRepository, startOperator, type RunningOperator } from './support/safehold.ts';

const system = 'safehold-system';

/** What the test reads inside the page; typed here because the project's lib has no DOM. */
interface PageWindow {
  document: { querySelector: (selector: string) => object | null };
  getComputedStyle: (element: object) => { backgroundColor: string; color: string };
}

/** The computed colours of the first element the selector finds. */
function colours(page: Page, selector: string) {
  return page.evaluate((found) => {
    const window = globalThis as unknown as PageWindow;
    const element = window.document.querySelector(found);
    if (element === null) throw new Error(`nothing on the page matches ${found}`);
    const style = window.getComputedStyle(element);
    return { background: style.backgroundColor, text: style.color };
  }, selector);
}

/** "rgb(254, 226, 226)" as its three channels. */
function rgb(colour: string): [number, number, number] {
  const [r = 0, g = 0, b = 0] = (colour.match(/\d+/g) ?? []).map(Number);
  return [r, g, b];
}

const reddish = (colour: string) => {
  const [r, g, b] = rgb(colour);
  return r > g + 20 && r > b + 20;
};
const greenish = (colour: string) => {
  const [r, g, b] = rgb(colour);
  return g > r + 20 && g > b + 10;
};
const grey = (colour: string) => {
  const [r, g, b] = rgb(colour);
  return Math.max(r, g, b) - Math.min(r, g, b) < 20 && r < 250;
};

describe('the dashboard', () => {
  let client: KubeClient;
  let operator: RunningOperator | undefined;
  let standby: RunningOperator | undefined;
  let browser: Browser | undefined;
  let ns = '';
  let base = '';
  const id = uniqueName('dash');
  const bucket = `safehold-${id}`;
  const repoName = `repo-${id}`;
  const policyName = `policy-${id}`;
  const cephfsPolicy = `cephfs-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'dashboard-test-'));

  beforeAll(async () => {
    client = clientAs('admin');
    await installWithRepository(client, { system, id, bucket, repository: repoName });
    ns = await createNamespace(client, 'dash');
    await client.mergePatch(kinds.namespace, { name: ns }, { metadata: { labels: { 'safehold.test/suite': id } } });
    await client.create(kinds.backupPolicy, {
      metadata: { name: policyName },
      spec: {
        priority: 900,
        selector: { namespaceSelector: { matchLabels: { 'safehold.test/suite': id } } },
        repository: { name: repoName },
        schedule: { cron: '0 0 29 2 *', timeZone: 'UTC' },
        retry: { limit: 0, deadline: '10m' },
      },
    } as KubeObject);
    // Selects nothing; a run that names it fails at once (its volume is not CephFS): a failure to show.
    await client.create(kinds.backupPolicy, {
      metadata: { name: cephfsPolicy },
      spec: {
        selector: { pvcSelector: { matchLabels: { 'safehold.test/never': id } } },
        repository: { name: repoName },
        method: 'cephfs-snapshot',
        schedule: { cron: '0 0 29 2 *', timeZone: 'UTC' },
      },
    } as KubeObject);
    operator = await startOperator(system, `dashboard-${id}`, `lease-${id}`);
    base = `http://127.0.0.1:${operator.port}`;

    await createClaim(client, ns, 'data');
    const volume = await boundVolumePath(client, ns, 'data');
    for (let i = 0; i < 20; i++) writeFileSync(join(volume, `file-${i}.txt`), `line ${i}\n`.repeat(2000 + i * 100));
    // A value that is neither true nor false leaves the volume UNPROTECTED whatever the policies say.
    for (const [name, value] of [
      ['scratch', 'sometimes'],
      ['cache', 'false'],
    ] as const) {
      await createClaim(client, ns, name);
      await client.mergePatch(
        kinds.persistentVolumeClaim,
        { namespace: ns, name },
        { metadata: { annotations: { 'safehold.io/backup': value } } },
      );
    }
    await backUpNow(client, ns, 'data', 'data-1');
    await backUpNow(client, ns, 'data', 'data-wrong-method', { policy: cephfsPolicy, outcome: 'Failed' });
    // The page follows the API: wait until the operator's view shows the backup on the volume.
    await waitFor(
      'the dashboard showing the backed-up volume',
      async () => {
        const response = await fetch(`${base}/api/coverage.json`);
        if (!response.ok) throw new Error(`/api/coverage.json answered ${response.status}`);
        const records = ((await response.json()) as CoverageRecord[]).filter((r) => r.namespace === ns);
        const data = records.find((r) => r.name === 'data');
        if ((data?.lastBackup ?? null) === null) throw new Error(`no last backup yet: ${JSON.stringify(records)}`);
        return records.length === 3;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    browser = await chromium.launch({ executablePath: tools.chromium, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await standby?.stop();
    await operator?.stop();
    for (const name of [policyName, cephfsPolicy])
      await client.delete(kinds.backupPolicy, { name }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: repoName }).catch(() => undefined);
    if (ns !== '') await deleteNamespace(client, ns);
    client.close();
  });

  it('shows the UNPROTECTED volume red with its cause, the protected one green, the excluded one grey', async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1200, height: 800 } });
    const response = await page.goto(`${base}/?namespace=${ns}`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");

    const row = (pvc: string) => `tr[data-volume="${ns}/${pvc}"]`;
    const scratch = await colours(page, row('scratch'));
    expect(reddish(scratch.background), scratch.background).toBe(true);
    expect(reddish((await colours(page, `${row('scratch')} .decision`)).text)).toBe(true);
    const scratchText = await page.locator(row('scratch')).innerText();
    expect(scratchText).toContain('UNPROTECTED');
    expect(scratchText).toContain('MalformedAnnotation');
    expect(scratchText).toContain('safehold.io/backup="sometimes"');

    const data = await colours(page, row('data'));
    expect(greenish(data.background), data.background).toBe(true);
    expect(greenish((await colours(page, `${row('data')} .decision`)).text)).toBe(true);
    const dataText = await page.locator(row('data')).innerText();
    expect(dataText).toContain('protected');
    expect(dataText).toContain(policyName);
    expect(dataText).toMatch(/\d+s ago/);

    const cache = await colours(page, row('cache'));
    expect(grey(cache.background), cache.background).toBe(true);
    expect(await page.locator(row('cache')).innerText()).toContain('excluded');

    const failures = await page.locator('#failures').innerText();
    expect(failures).toContain(`${ns}/data-wrong-method`);
    expect(failures).toContain('is not CephFS');

    // Always in this test's folder; into docs/images (the guide's picture) only when asked, so a
    // test run leaves the checkout as it found it.
    const shot = join(work, 'dashboard.png');
    await page.screenshot({ path: shot });
    if (process.env.SAFEHOLD_UPDATE_SCREENSHOT === '1') {
      mkdirSync(join(repoRoot, 'docs/images'), { recursive: true });
      copyFileSync(shot, join(repoRoot, 'docs/images/dashboard.png'));
    }
    await page.close();
  });

  it("shows a volume's history: its backup with sizes and duration, and the two charts", async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(`${base}/?namespace=${ns}`);
    await page.click(`tr[data-volume="${ns}/data"] a`);
    await page.waitForURL(`${base}/volumes/${ns}/data`);

    const run = await page.locator('tr[data-backup="data-1"]').innerText();
    expect(run).toContain('Succeeded');
    expect(run).toMatch(/KiB|MiB/);
    expect(run).toMatch(/\d+s/);
    expect(await page.locator('tr[data-backup="data-wrong-method"]').innerText()).toContain('Failed');

    const charts = page.locator('figure.chart svg');
    expect(await charts.count()).toBe(2);
    expect(await charts.nth(0).getAttribute('aria-label')).toBe('Bytes per backup');
    expect(await charts.nth(0).locator('circle').count()).toBe(2);
    expect(await charts.nth(1).getAttribute('aria-label')).toBe('Duration per backup');
    expect(await charts.nth(1).locator('circle').count()).toBe(1);
    await page.screenshot({ path: join(work, 'volume.png'), fullPage: true });
    await page.close();
  });

  it('is read-only, and a standby replica says it stands by', async () => {
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/volumes/${ns}/nothing`)).status).toBe(404);

    standby = await startOperator(system, `dashboard-standby-${id}`, `lease-${id}`);
    const response = await fetch(`http://127.0.0.1:${standby.port}/`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('is standing by');
  });
});
