import { describe, expect, it } from 'vitest';
import { sanitizeObject, type ApiObject } from '../core/index.ts';
import { ApiError } from '../kube/index.ts';
import { apiMessage, replacementBody } from './resource-apply.ts';

const liveClaim = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: {
    name: 'data',
    namespace: 'shop',
    uid: 'u-1',
    resourceVersion: '42',
    labels: { tier: 'now' },
    annotations: { 'pv.kubernetes.io/bind-completed': 'yes', note: 'now' },
    finalizers: ['kubernetes.io/pvc-protection'],
  },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeName: 'pv-7' },
  status: { phase: 'Bound' },
};
const backupSpec = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } };
const backup: ApiObject = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: {
    name: 'data',
    namespace: 'shop',
    labels: { tier: 'backup' },
    finalizers: ['kubernetes.io/pvc-protection'],
  },
  spec: backupSpec,
};

describe('replacementBody', () => {
  it("lays the backup over what the API server assigned: the update is accepted and reads back as the backup's", () => {
    const body = replacementBody(liveClaim, backup);
    expect(body).toEqual({
      ...backup,
      metadata: {
        ...backup.metadata,
        uid: 'u-1',
        resourceVersion: '42',
        annotations: { 'pv.kubernetes.io/bind-completed': 'yes' },
      },
      spec: { ...backupSpec, volumeName: 'pv-7' },
    });
    const readBack = sanitizeObject(body);
    expect(readBack.keep && readBack.object).toEqual(backup);
  });

  it('drops what the user set and the backup has not: the annotation "note" is gone', () => {
    expect(replacementBody(liveClaim, backup).metadata.annotations).not.toHaveProperty('note');
  });

  it('never changes the planned object', () => {
    const copy = structuredClone(backup);
    replacementBody(liveClaim, backup);
    expect(backup).toEqual(copy);
  });
});

describe('apiMessage', () => {
  it("gives the API server's status and words without the request", () => {
    const error = ApiError.fromResponse(
      'POST',
      '/api/v1/namespaces/b/configmaps',
      403,
      JSON.stringify({
        kind: 'Status',
        reason: 'Forbidden',
        message: 'configmaps is forbidden: User "alice" cannot create',
      }),
    );
    expect(apiMessage(error)).toBe('403 Forbidden: configmaps is forbidden: User "alice" cannot create');
    expect(apiMessage(new Error('socket hang up'))).toBe('socket hang up');
  });
});
