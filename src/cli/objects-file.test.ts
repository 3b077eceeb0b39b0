import { describe, expect, it } from 'vitest';
import { parseObjectsFile, type ObjectsFile } from './objects-file.ts';

const header = {
  format: 'safehold.io/objects/v1',
  namespace: 'shop',
  capturedAt: '2025-03-04T05:06:07Z',
  resources: [
    { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
    { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
    { group: 'storage.k8s.io', version: 'v1', kind: 'StorageClass', plural: 'storageclasses', namespaced: false },
  ],
  skipped: [{ resource: 'events', reason: 'a record of what happened' }],
};
const settings = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' }, data: {} };
const web = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: {} };
const trailer = (objects: number) => ({ end: true, objects, skippedObjects: [{ object: 'Pod shop/x', reason: 'r' }] });
const lines = (...values: unknown[]) => values.map((v) => `${JSON.stringify(v)}\n`).join('');

function parsed(text: string): ObjectsFile {
  const result = parseObjectsFile(text);
  if (!result.ok) throw new Error(result.error);
  return result.file;
}

function refused(text: string): string {
  const result = parseObjectsFile(text);
  if (result.ok) throw new Error('the file was accepted');
  return result.error;
}

describe('parseObjectsFile', () => {
  it('reads the header, the objects in order and the trailer', () => {
    const file = parsed(lines(header, settings, web, trailer(2)));
    expect(file).toMatchObject({
      namespace: 'shop',
      capturedAt: '2025-03-04T05:06:07Z',
      objects: [settings, web],
      skipped: header.skipped,
      skippedObjects: [{ object: 'Pod shop/x', reason: 'r' }],
      leftOut: [],
    });
    expect(file.resources.get('Deployment.apps')).toMatchObject({ plural: 'deployments', namespaced: true });
  });

  it('reads an empty namespace, with or without a last newline', () => {
    expect(parsed(lines(header, trailer(0))).objects).toEqual([]);
    expect(parsed(lines(header, trailer(0)).trimEnd()).objects).toEqual([]);
  });

  it('reads a file of the cluster-scoped objects (scope Cluster), which names no namespace', () => {
    const cluster = { ...header, namespace: undefined, scope: 'Cluster' };
    const fast = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'fast' },
      provisioner: 'p',
    };
    const file = parsed(lines(cluster, fast, trailer(1)));
    expect(file).toMatchObject({ namespace: undefined, objects: [fast] });
    expect(refused(lines(cluster, fast))).toMatch(/^incomplete: the file ends at line 2 without its trailer/);
    expect(refused(lines(cluster, settings, trailer(1)))).toBe(
      'line 2: ConfigMap shop/settings: a ConfigMap is namespaced, and the file holds the cluster-scoped objects',
    );
  });

  it.each([
    { name: 'both a namespace and scope Cluster', head: { ...header, scope: 'Cluster' } },
    { name: 'neither', head: { ...header, namespace: undefined } },
  ])('refuses a header that names $name', ({ head }) => {
    expect(refused(lines(head, trailer(0)))).toBe(
      'line 1: the header names a namespace or scope Cluster, and only one of them',
    );
  });

  it('refuses a file without its trailer, however it was cut', () => {
    const whole = lines(header, settings, web, trailer(2));
    expect(refused(lines(header, settings, web))).toMatch(/^incomplete: the file ends at line 3 without its trailer/);
    expect(refused(lines(header))).toMatch(/^incomplete: the file ends at line 1/);
    expect(refused(whole.slice(0, whole.length - 10))).toMatch(/^incomplete: .* without its trailer/);
    expect(refused(whole.slice(0, whole.indexOf('"web"')))).toMatch(/^incomplete/);
  });

  it('refuses a file whose trailer counts other objects than it holds', () => {
    expect(refused(lines(header, settings, trailer(2)))).toBe(
      'incomplete: the trailer counts 2 objects, the file holds 1',
    );
    expect(refused(lines(header, settings, web, trailer(1)))).toMatch(/counts 1 objects, the file holds 2/);
  });

  it('refuses what is not an objects file, naming the line', () => {
    expect(refused('')).toMatch(/^the file is empty/);
    expect(refused('-- PostgreSQL database dump\n')).toMatch(/^line 1: not the header of an objects file/);
    expect(refused(lines({ ...header, format: 'safehold.io/objects/v2' }, trailer(0)))).toBe(
      'line 1: format "safehold.io/objects/v2", this safehold reads safehold.io/objects/v1',
    );
    expect(refused(lines(header, settings, 'not an object', trailer(2)))).toBe('line 3: not a JSON object');
    expect(refused(lines(header, trailer(0), settings, trailer(2)))).toBe('line 2: a trailer before the last line');
    expect(refused(lines(header, { kind: 'ConfigMap', metadata: { name: 'x' } }, trailer(1)))).toMatch(
      /^line 2: not an API object/,
    );
  });

  it("refuses an object whose kind or version the header does not name, or in another namespace than the header's", () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'shop' } };
    expect(refused(lines(header, secret, trailer(1)))).toBe(
      "line 2: Secret shop/s (v1) is not among the header's resources",
    );
    expect(refused(lines(header, { ...web, apiVersion: 'apps/v1beta1' }, trailer(1)))).toMatch(
      /Deployment shop\/web \(apps\/v1beta1\) is not among/,
    );
    expect(refused(lines(header, { ...settings, metadata: { name: 'x', namespace: 'other' } }, trailer(1)))).toBe(
      "line 2: ConfigMap other/x is not in namespace shop, the header's",
    );
    const storageClass = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'f', namespace: 'shop' },
    };
    expect(refused(lines(header, storageClass, trailer(1)))).toBe(
      'line 2: StorageClass shop/f: a StorageClass has no namespace',
    );
  });

  it("puts a namespaced object without a namespace in the header's, and sanitizes each object again", () => {
    const bare = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bare', uid: 'u-1' }, data: { a: 'b' } };
    const rootCa = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: 'shop' } };
    const file = parsed(lines(header, bare, rootCa, trailer(2)));
    expect(file.objects).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bare', namespace: 'shop' }, data: { a: 'b' } },
    ]);
    expect(file.leftOut).toEqual([
      'ConfigMap shop/kube-root-ca.crt: the control plane makes this ConfigMap in every namespace',
    ]);
  });
});
