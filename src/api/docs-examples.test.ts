// The YAML on the user guide and the migration page, checked against what the
// API server and Safehold accept, so the docs cannot drift from the schemas:
// every Safehold object parses with its zod spec, names no field the CRD
// lacks, and passes the CEL rule of BackupPolicy; Helm values name only keys
// the chart's values.yaml has. Their links lead to files and headings that exist.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { applicationDumpSpec, dumpRunSpec } from './application-dump.ts';
import { backupDownloadSpec } from './backup-download.ts';
import { backupPolicySpec } from './backup-policy.ts';
import { backupRepositorySpec } from './backup-repository.ts';
import { bucketRestoreSpec } from './bucket-restore.ts';
import { openApiSchema } from './crd.ts';
import { apiGroup, apiVersion } from './group.ts';
import { repositoryMaintenanceSpec } from './repository-maintenance.ts';
import { volumeBackupSpec } from './volume-backup.ts';
import { volumeRestoreSpec } from './volume-restore.ts';

const root = join(import.meta.dirname, '../..');
const pages = ['docs/guide.md', 'docs/migrating-from-scripts.md'];

const kinds: Record<string, { spec: z.ZodType; namespaced: boolean }> = {
  BackupPolicy: { spec: backupPolicySpec, namespaced: false },
  BackupRepository: { spec: backupRepositorySpec, namespaced: false },
  VolumeBackup: { spec: volumeBackupSpec, namespaced: true },
  VolumeRestore: { spec: volumeRestoreSpec, namespaced: true },
  BackupDownload: { spec: backupDownloadSpec, namespaced: true },
  RepositoryMaintenance: { spec: repositoryMaintenanceSpec, namespaced: true },
  ApplicationDump: { spec: applicationDumpSpec, namespaced: true },
  DumpRun: { spec: dumpRunSpec, namespaced: true },
  BucketRestore: { spec: bucketRestoreSpec, namespaced: true },
};

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The ```yaml blocks of a Markdown page, with the line each starts on. */
function yamlBlocks(markdown: string): { line: number; text: string }[] {
  const blocks: { line: number; text: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== '```yaml') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]?.trim() !== '```') end++;
    blocks.push({ line: start + 1, text: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** Paths of keys the value has and the (structural OpenAPI) schema does not. */
function unknownFields(value: unknown, schema: Json, path: string): string[] {
  if (Array.isArray(value) && isObject(schema.items))
    return value.flatMap((item, i) => unknownFields(item, schema.items as Json, `${path}[${i}]`));
  if (!isObject(value)) return [];
  if (isObject(schema.properties)) {
    const properties = schema.properties;
    return Object.entries(value).flatMap(([key, sub]) =>
      isObject(properties[key]) ? unknownFields(sub, properties[key], `${path}.${key}`) : [`${path}.${key}`],
    );
  }
  if (isObject(schema.additionalProperties))
    return Object.entries(value).flatMap(([key, sub]) =>
      unknownFields(sub, schema.additionalProperties as Json, `${path}.${key}`),
    );
  return [];
}

/** Paths of keys a values snippet has where the chart's values.yaml has an object without them. */
function unknownValues(snippet: unknown, values: unknown, path: string): string[] {
  if (!isObject(snippet) || !isObject(values) || Object.keys(values).length === 0) return [];
  return Object.entries(snippet).flatMap(([key, sub]) =>
    key in values ? unknownValues(sub, values[key], path === '' ? key : `${path}.${key}`) : [`${path}.${key}`],
  );
}

/** BackupPolicy's CEL rule, which zod does not run: the default, or a selector that selects something. */
function selectsSomething(spec: Json): boolean {
  const selector = spec.selector;
  return (
    spec.default === true ||
    (isObject(selector) &&
      ['namespaceSelector', 'pvcSelector', 'pvSelector', 'storageClasses', 'workloads'].some((f) => f in selector))
  );
}

/** What is wrong with one document of a YAML block; [] when nothing is. */
function problemsOf(document: unknown): string[] {
  if (!isObject(document) || typeof document.apiVersion !== 'string' || typeof document.kind !== 'string')
    return ['not a Kubernetes object (apiVersion and kind)'];
  if (!document.apiVersion.startsWith(`${apiGroup}/`)) return [];
  if (document.apiVersion !== `${apiGroup}/${apiVersion}`) return [`apiVersion ${document.apiVersion}`];
  const kind = kinds[document.kind];
  if (kind === undefined) return [`unknown kind ${document.kind}`];
  const problems: string[] = [];
  const metadata = isObject(document.metadata) ? document.metadata : {};
  if (typeof metadata.name !== 'string') problems.push('metadata.name is missing');
  if (kind.namespaced !== (typeof metadata.namespace === 'string'))
    problems.push(kind.namespaced ? 'metadata.namespace is missing' : 'a cluster-scoped object has a namespace');
  const spec = document.spec;
  const parsed = kind.spec.safeParse(spec);
  if (!parsed.success) problems.push(...parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`));
  problems.push(...unknownFields(spec, openApiSchema(kind.spec), 'spec').map((p) => `${p} is not a field`));
  if (document.kind === 'BackupPolicy' && isObject(spec) && !selectsSomething(spec))
    problems.push('a policy that is not the default must select something');
  return problems;
}

const chartValues: unknown = parse(readFileSync(join(root, 'charts/safehold/values.yaml'), 'utf8'));

describe.each(pages)('the YAML examples of %s', (page) => {
  const blocks = yamlBlocks(readFileSync(join(root, page), 'utf8'));

  it('has Safehold objects to check', () => {
    const objects = blocks.flatMap((b) =>
      parseAllDocuments(b.text).filter((d) => String(d.get('apiVersion')).startsWith(`${apiGroup}/`)),
    );
    expect(objects.length).toBeGreaterThan(2);
  });

  it.each(blocks.map((b) => [b.line, b.text] as const))('the block at line %i is valid', (_line, text) => {
    const documents = parseAllDocuments(text);
    for (const document of documents) expect(document.errors.map((e) => e.message)).toEqual([]);
    if (text.startsWith('# values.yaml')) {
      expect(unknownValues(parse(text), chartValues, '')).toEqual([]);
      return;
    }
    for (const document of documents) expect(problemsOf(document.toJS())).toEqual([]);
  });
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replaceAll(' ', '-');
}

function anchorsOf(markdown: string): Set<string> {
  const headings = markdown.split('\n').filter((line) => /^#{1,6} /.test(line));
  return new Set(headings.map((line) => anchorOf(line.replace(/^#+ /, ''))));
}

/** Relative links (not images) whose file or heading does not exist. */
function brokenLinks(page: string): string[] {
  const text = readFileSync(join(root, page), 'utf8');
  const broken: string[] = [];
  for (const match of text.matchAll(/(?<!!)\[[^\]]*\]\(([^)\s]+)\)/g)) {
    const target = match[1] ?? '';
    if (/^[a-z]+:/.test(target)) continue;
    const [file = '', anchor] = target.split('#');
    const path = file === '' ? page : join(dirname(page), file);
    let linked: string;
    try {
      linked = readFileSync(join(root, path), 'utf8');
    } catch {
      broken.push(target);
      continue;
    }
    if (anchor !== undefined && !anchorsOf(linked).has(anchor)) broken.push(target);
  }
  return broken;
}

describe.each([...pages, 'README.md'])('the links of %s', (page) => {
  it('point to files and headings that exist', () => {
    expect(brokenLinks(page)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('find a misspelt field, a bad value, a policy that selects nothing and an unknown Helm value', () => {
    const policy = (spec: Json) => ({
      apiVersion: 'safehold.io/v1alpha1',
      kind: 'BackupPolicy',
      metadata: { name: 'p' },
      spec,
    });
    expect(problemsOf(policy({ default: true, schedul: { cron: '0 2 * * *' } }))).toEqual([
      'spec.schedul is not a field',
    ]);
    expect(problemsOf(policy({ default: true, selector: { pvSelector: { matchLabel: {} } } }))).toEqual([
      'spec.selector.pvSelector.matchLabel is not a field',
    ]);
    expect(problemsOf(policy({ default: true, schedule: { cron: 'daily' } }))[0]).toMatch(/^spec\.schedule\.cron: /);
    expect(problemsOf(policy({ priority: 5 }))).toEqual(['a policy that is not the default must select something']);
    expect(
      problemsOf({
        apiVersion: 'safehold.io/v1alpha1',
        kind: 'VolumeBackup',
        metadata: { name: 'b' },
        spec: { pvc: 'x' },
      }),
    ).toEqual(['metadata.namespace is missing']);
    expect(unknownValues({ metrics: { serviceMonitor: { enable: true } } }, chartValues, '')).toEqual([
      'metrics.serviceMonitor.enable',
    ]);
  });

  it('make anchors as GitHub does', () => {
    expect(anchorOf('The `safehold` command line')).toBe('the-safehold-command-line');
    expect(anchorOf('`method: cephfs-snapshot` for static CephFS PVs')).toBe(
      'method-cephfs-snapshot-for-static-cephfs-pvs',
    );
  });

  it('reads the yaml blocks of a page', () => {
    expect(yamlBlocks('text\n```yaml\na: 1\n```\n```sh\nb\n```\n```yaml\nc: 2\nd: 3\n```\n')).toEqual([
      { line: 3, text: 'a: 1' },
      { line: 9, text: 'c: 2\nd: 3' },
    ]);
  });
});
