// The objects of one maintenance run and what it is told to do: the restic
// snapshots retention drops in its repository (fixed when it starts, from
// the same plan `safehold retention preview` shows), its credentials Secret
// and its mover Job, both in Safehold's namespace and owned by the run.
import {
  repositoryUrl,
  tenantOf,
  applicationDumpSpec,
  type BackupRepository,
  type DumpRun,
  type MaintenanceTask,
  type RepositoryMaintenance,
  type VolumeBackup,
} from '../../api/index.ts';
import {
  dumpRetentionDrops,
  maintenanceJobName,
  maintenanceLabel,
  moverCacheDir,
  moverJob,
  planRetention,
} from '../../core/index.ts';
import { ignoreAlreadyExists, kinds } from '../../kube/index.ts';
import type { MaintenanceDeps } from './maintenance-kind.ts';
import { createCredentialsSecret, repositoryCredentials, repositorySource } from '../run/repository-credentials.ts';

/** At most this many snapshots are forgotten per run (the task travels in an environment variable); the rest next time. */
const maxForgetPerRun = 500;

export const operationLabel = 'safehold.io/operation';

export const finished = (m: RepositoryMaintenance) => m.status?.phase === 'Succeeded' || m.status?.phase === 'Failed';

export function repositoryOf(cache: MaintenanceDeps['cache'], maintenance: RepositoryMaintenance) {
  return cache.repository(maintenance.spec.repository);
}

/** The catalogue (kept backups and finished runs) whose data is in this maintenance's restic repository. */
export function backupsInScope(
  cache: MaintenanceDeps['cache'],
  maintenance: RepositoryMaintenance,
  repository: BackupRepository,
): VolumeBackup[] {
  const tenant = maintenance.spec.tenant ?? '';
  return cache
    .catalogue()
    .filter(
      (b) =>
        b.status?.repository === repository.metadata.name && tenantOf(repository.spec, b.metadata.namespace) === tenant,
    );
}

/** The stored application dumps in this maintenance's restic repository. */
export function dumpsInScope(
  cache: MaintenanceDeps['cache'],
  maintenance: RepositoryMaintenance,
  repository: BackupRepository,
): DumpRun[] {
  const tenant = maintenance.spec.tenant ?? '';
  return cache
    .dumpRunsIn(['Succeeded'])
    .filter(
      (r) =>
        r.status?.repository === repository.metadata.name && tenantOf(repository.spec, r.metadata.namespace) === tenant,
    );
}

/** The restic snapshots retention drops in this repository now: the plan's drops, oldest first, bounded. */
export function forgetSet(deps: MaintenanceDeps, maintenance: RepositoryMaintenance): string[] {
  const repository = repositoryOf(deps.cache, maintenance);
  if (repository === undefined) return [];
  const { cache, coverage } = deps;
  const plans = planRetention({
    backups: backupsInScope(deps.cache, maintenance, repository),
    policies: cache.parsedPolicies().valid,
    protectingPolicy: (key) => {
      const decision = coverage.row(key)?.decision;
      return decision?.state === 'protected' ? decision.policy : undefined;
    },
    claimExists: (key) => cache.claims.get(key) !== undefined,
    now: deps.now(),
  });
  const dumps = dumpRetentionDrops(dumpsInScope(cache, maintenance, repository), (key) => {
    const declared = cache.applicationDumps.get(key);
    const parsed = declared === undefined ? undefined : applicationDumpSpec.safeParse(declared.spec);
    return parsed?.success === true ? parsed.data : undefined;
  }).map((run) => ({
    id: run.status?.snapshotId ?? '',
    time: new Date(Date.parse(run.status?.snapshotTime ?? run.status?.completionTime ?? '')),
  }));
  return [...plans.flatMap((plan) => plan.verdicts.filter((v) => !v.keep).map((v) => v.entry)), ...dumps]
    .sort((a, b) => a.time.getTime() - b.time.getTime())
    .slice(0, maxForgetPerRun)
    .map((entry) => entry.id);
}

/** Creates the credentials Secret and the Job; returns what is missing, if anything. */
export async function createMaintenanceJob(
  deps: MaintenanceDeps,
  maintenance: RepositoryMaintenance,
): Promise<string | undefined> {
  const repository = repositoryOf(deps.cache, maintenance);
  if (repository === undefined) return `BackupRepository ${maintenance.spec.repository} not found`;
  const tenant = maintenance.spec.tenant ?? '';
  const credentials = await repositoryCredentials(deps.client, deps.namespace, repository, tenant);
  if ('missing' in credentials) return credentials.missing;
  const name = maintenanceJobName(maintenance);
  const labels = { [maintenanceLabel]: maintenance.metadata.name, 'app.kubernetes.io/component': 'mover' };
  const owner = {
    apiVersion: 'safehold.io/v1alpha1',
    kind: 'RepositoryMaintenance',
    name: maintenance.metadata.name,
    uid: maintenance.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
  await createCredentialsSecret(
    deps.client,
    { name: `${name}-creds`, namespace: maintenance.metadata.namespace, labels, ownerReferences: [owner] },
    credentials.data,
  );
  const task: MaintenanceTask = {
    kind: 'maintenance',
    repository: {
      engine: repository.spec.engine,
      url: repositoryUrl(repository.spec, tenant === '' ? '' : tenant),
      region: repository.spec.s3.region,
      initialize: false,
      source: repositorySource(deps.namespace, repository, tenant),
    },
    cacheDir: moverCacheDir,
    forget: maintenance.status?.forget ?? [],
    prune: maintenance.spec.prune !== false,
    ...(maintenance.spec.check === undefined ? {} : { check: maintenance.spec.check }),
  };
  const job = moverJob({
    name,
    namespace: maintenance.metadata.namespace,
    labels,
    ownerReferences: [owner],
    mover: deps.mover,
    task,
    secretName: `${name}-creds`,
    deadlineSeconds: 12 * 3600,
  });
  await ignoreAlreadyExists(() => deps.client.create(kinds.job, job));
  return undefined;
}
