// BackupRepository (cluster-scoped): a restic repository on S3, where its
// credentials and its password live, and how each volume appears in it.
import { z } from 'zod';
import { condition } from './conditions.ts';

const secretKeyRef = (defaultKey: string) =>
  z.object({
    namespace: z.string().min(1),
    name: z.string().min(1),
    key: z.string().min(1).default(defaultKey),
  });

export const backupRepositorySpec = z.object({
  s3: z.object({
    endpoint: z.url().describe('e.g. http://rgw.storage.svc:7480 or https://s3.eu-central-1.amazonaws.com'),
    bucket: z.string().min(3).max(63),
    prefix: z.string().optional().describe('Path inside the bucket; {namespace} makes one repository per namespace.'),
    region: z.string().default('us-east-1'),
    accessKeyId: secretKeyRef('AWS_ACCESS_KEY_ID'),
    secretAccessKey: secretKeyRef('AWS_SECRET_ACCESS_KEY'),
  }),
  password: secretKeyRef('password').describe('The restic repository password.'),
  hostTemplate: z
    .string()
    .default('k8s-{namespace}-nspvc-{pvc}')
    .describe('The restic --host of each volume; {namespace} and {pvc} are replaced.'),
  maxConcurrentMovers: z.int().min(1).optional(),
});

export const backupRepositoryStatus = z.object({
  conditions: z.array(condition).optional(),
  lastBackupTime: z.string().optional(),
});

export type BackupRepositorySpec = z.infer<typeof backupRepositorySpec>;
export type BackupRepositoryStatus = z.infer<typeof backupRepositoryStatus>;

export interface BackupRepository {
  metadata: { name: string; uid?: string; resourceVersion?: string };
  spec: BackupRepositorySpec;
  status?: BackupRepositoryStatus;
}

/** The restic repository URL for one namespace's volumes. */
export function repositoryUrl(spec: BackupRepositorySpec, namespace: string): string {
  const endpoint = spec.s3.endpoint.replace(/\/+$/, '');
  const prefix = (spec.s3.prefix ?? '').replaceAll('{namespace}', namespace).replace(/^\/+|\/+$/g, '');
  return `s3:${endpoint}/${spec.s3.bucket}${prefix === '' ? '' : `/${prefix}`}`;
}

export function resticHost(spec: BackupRepositorySpec, namespace: string, pvc: string): string {
  return spec.hostTemplate.replaceAll('{namespace}', namespace).replaceAll('{pvc}', pvc);
}
