// etcd as a dump's source (issue 21, M11): where a kubeadm-style control plane
// runs etcd on its nodes with the client certificates on the host, a mover on
// such a node (host network, the certificates folder mounted read-only) saves
// `etcdctl snapshot save`, checks it with `etcdutl snapshot status`, and only
// then stores it as one file. What an ApplicationDump (and a BackupPolicy)
// declares, the mover's task, and what the mover reports.
import { z } from 'zod';
import { compressionModes } from './backup-repository.ts';
import { repositoryTarget } from './restic-target.ts';

/** A file in the certificates folder: a plain name, no path. */
const certificateFile = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a file name in the certificates folder (e.g. ca.crt), no path');

/** kubeadm's layout: etcd's CA and the health-check client certificate, readable by root on each control-plane node. */
export const etcdDefaults = {
  endpoints: ['https://127.0.0.1:2379'],
  hostPath: '/etc/kubernetes/pki/etcd',
  caFile: 'ca.crt',
  certFile: 'healthcheck-client.crt',
  keyFile: 'healthcheck-client.key',
  nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
} as const;

/** An etcd client URL: http(s)://host:port, no path. */
export const etcdEndpoint = z
  .string()
  .regex(/^https?:\/\/[^\s/]+\/?$/, 'an etcd client URL: https://host:port, without a path')
  .refine((url) => URL.canParse(url), 'a URL that parses');

export const etcdSource = z.object({
  endpoints: z
    .array(etcdEndpoint)
    .min(1)
    .default([...etcdDefaults.endpoints])
    .describe(
      "etcd's client URLs, as the mover on a control-plane node reaches them (host network): tried in order until one gives a snapshot.",
    ),
  certificates: z
    .object({
      hostPath: z
        .string()
        .startsWith('/', 'an absolute path on the node')
        .default(etcdDefaults.hostPath)
        .describe("The folder on the node that holds etcd's client certificates; mounted read-only into the mover."),
      caFile: certificateFile.default(etcdDefaults.caFile).describe("etcd's CA certificate, in that folder."),
      certFile: certificateFile
        .default(etcdDefaults.certFile)
        .describe('A client certificate etcd accepts, in that folder.'),
      keyFile: certificateFile.default(etcdDefaults.keyFile).describe("That certificate's key, in that folder."),
    })
    .default({
      hostPath: etcdDefaults.hostPath,
      caFile: etcdDefaults.caFile,
      certFile: etcdDefaults.certFile,
      keyFile: etcdDefaults.keyFile,
    })
    .describe("etcd's client certificates on the node (kubeadm's by default)."),
  nodeSelector: z
    .record(z.string(), z.string())
    .default({ ...etcdDefaults.nodeSelector })
    .describe(
      'The nodes the mover may run on: those with etcd and its certificates (control-plane nodes by default; their NoSchedule taint is tolerated).',
    ),
});
export type EtcdSource = z.infer<typeof etcdSource>;

/** The snapshot's file in the repository, unless the dump names it. */
export const etcdSnapshotFileName = 'etcd.db';

/** Where the mover sees the node's certificates folder (mounted read-only), beside /data, /cache and /target. */
export const etcdCertificatesMount = '/etcd-pki';

/**
 * An etcd snapshot: `etcdctl snapshot save` from the first endpoint that gives one, into the mover's
 * work folder, checked with `etcdutl snapshot status`, then stored as fileName at the snapshot's root.
 */
export const etcdSnapshotTask = z.object({
  kind: z.literal('etcd-snapshot'),
  repository: repositoryTarget,
  endpoints: z.array(etcdEndpoint).min(1),
  certificates: z.object({
    /** The folder inside the mover (etcdCertificatesMount). */
    dir: z.string().startsWith('/'),
    /** The same folder on the node, as failures name it. */
    hostPath: z.string().startsWith('/'),
    caFile: certificateFile,
    certFile: certificateFile,
    keyFile: certificateFile,
  }),
  fileName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  host: z.string().min(1),
  tags: z.array(z.string()),
  cacheDir: z.string().startsWith('/'),
  compression: z.enum(compressionModes).default('auto'),
});
export type EtcdSnapshotTask = z.infer<typeof etcdSnapshotTask>;

/** What `etcdutl snapshot status` said of the stored snapshot, and where it came from. */
export const etcdSnapshotReport = z.object({
  endpoint: z.string(),
  revision: z.int(),
  keys: z.int(),
  /** The database's hash, as etcdutl computes it. */
  hash: z.int(),
  /** The database's size. */
  bytes: z.number(),
  /** The etcd storage version the snapshot holds, when etcdutl tells. */
  version: z.string().optional(),
});
export type EtcdSnapshotReport = z.infer<typeof etcdSnapshotReport>;
