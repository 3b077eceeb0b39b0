// The dump kind of run (ADR 0026): a DumpRun of an ApplicationDump, observed
// from the caches, decided by core (nextDumpStep), carried out one step at a
// time. Its mover Job runs in Safehold's namespace with the repository's
// credentials and an open stdin; once it runs, the operator streams the dump
// command's output into it (dump-relay.ts) and the mover stores it as one
// file, only when complete.
import {
  applicationDumpSpec,
  dumpFileOf,
  dumpLabels,
  durationMs,
  repositoryUrl,
  resticHost,
  runLabels,
  tenantOf,
  timestamp,
  type ApplicationDump,
  type BackupRepository,
  type DumpRun,
  type MoverSettings,
  type ParsedApplicationDumpSpec,
} from '../../api/index.ts';
import {
  attemptOf,
  dumpedWhat,
  dumpRunFinished,
  streamingMessage,
  moverCacheDir,
  moverJob,
  nextDumpStep,
  ownerRecord,
  type DumpStep,
} from '../../core/index.ts';
import {
  ignoreAlreadyExists,
  ignoreNotFound,
  kinds,
  writeStatus,
  type KubeClient,
  type Requeue,
} from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { CoverageController } from '../coverage/coverage-controller.ts';
import type { Log } from '../operator.ts';
import { createCredentialsSecret, repositoryCredentials, repositorySource } from '../run/repository-credentials.ts';
import { labelledRun, runEnded, type RunKind } from '../run/run-kind.ts';
import { runEvent } from '../run/run-event.ts';
import { cleanedUp, statusWriter, writeWaiting } from '../run/run-status.ts';
import type { StartGate } from '../run/start-gate.ts';
import { relayedWhat, type DumpRelays, type RelaySource } from './dump-relay.ts';
import { sourceTask } from './dump-task.ts';
import { namespaceObjects } from './namespace-objects.ts';
import { dumpJobName, relayKey, secretName } from './dump-names.ts';
import { observeDump, type ObservedDump } from './dump-observation.ts';

export interface DumpDeps {
  client: KubeClient;
  cache: ClusterCache;
  coverage: CoverageController;
  namespace: string;
  mover: MoverSettings;
  now: () => Date;
  log: Log;
  gate: StartGate;
  maxConcurrentMovers: number;
  maintenanceFor: (repository: BackupRepository, namespace: string) => string | undefined;
  relays: DumpRelays;
}

export function dumpKindOf(deps: DumpDeps): RunKind<DumpRun, ObservedDump, DumpStep> {
  const { cache } = deps;
  return {
    kind: 'DumpRun',
    resource: kinds.dumpRun,
    informer: cache.dumpRuns,
    concurrency: 2,
    starts: 'writes',
    owned: [cache.jobs, cache.pods],
    runOf: labelledRun(dumpLabels.run),
    // A backup that ends frees a mover slot; a Pod of the application may come up.
    wakeUps: [
      { informer: cache.volumeBackups, when: runEnded((b) => ['Succeeded', 'Failed'].includes(b.status?.phase ?? '')) },
      { informer: cache.maintenances, when: () => true },
    ],
    finished: dumpRunFinished,
    nothingAfterCleanUp: true,
    observe: (run) => observeDump(deps, run),
    next: (observed) => nextDumpStep(observed.observation),
    carryOut: (run, observed, step) => carryOut(deps, run, observed, step),
    cleanUp: (run) => cleanUp(deps, run),
  };
}

async function carryOut(
  deps: DumpDeps,
  run: DumpRun,
  observed: ObservedDump,
  step: DumpStep,
): Promise<Requeue | undefined> {
  const now = deps.now();
  const stamp = timestamp(now);
  const setStatus = statusWriter(deps.client, kinds.dumpRun, run, now);
  const spec = observed.dump === undefined ? undefined : applicationDumpSpec.safeParse(observed.dump.spec).data;
  switch (step.kind) {
    case 'wait':
      await writeWaiting(deps.client, kinds.dumpRun, run, step, now);
      return { requeueAfterMs: step.recheckMs };
    case 'start':
      await setStatus(
        {
          phase: 'Running',
          reason: 'MoverStarting',
          message:
            step.pod === undefined
              ? `starting the mover for ${dumpedWhat(run, observed.observation.target)}`
              : `starting the mover for ${(spec?.command ?? []).join(' ')} in Pod ${step.pod}, container ${step.container ?? '?'}`,
          repository: step.repository,
          pod: step.pod,
          container: step.container,
          command: spec?.command,
          fileName: spec === undefined ? '' : dumpFileOf(spec),
          covers: observed.covers,
          attempt: attemptOf(run),
          startTime: run.status?.startTime ?? stamp,
        },
        { status: 'Unknown', reason: 'MoverStarting', message: 'starting the mover' },
      );
      return undefined;
    case 'create-job': {
      const missing =
        observed.repository === undefined
          ? `BackupRepository ${run.status?.repository ?? '?'} is gone`
          : await createJob(deps, run, observed.repository, spec);
      if (missing !== undefined) await finish(deps, run, 'Failed', 'SecretNotFound', missing, {});
      return undefined;
    }
    case 'stream':
      await startStream(deps, observed, run, step.moverPod, durationMs(spec?.timeout ?? '1h'), spec?.objects);
      return undefined;
    case 'succeed': {
      const status = run.status ?? {};
      const from =
        status.pod === undefined
          ? dumpedWhat(run, observed.observation.target)
          : `Pod ${status.pod}, container ${status.container ?? '?'}`;
      const etcd = step.etcd === undefined ? '' : `, revision ${step.etcd.revision}, ${step.etcd.keys} keys`;
      const message = `stored ${status.fileName ?? 'the dump'} (${step.bytes} bytes${etcd}) from ${from}`;
      await finish(deps, run, 'Succeeded', 'Succeeded', message, {
        snapshotId: step.snapshotId,
        bytes: step.bytes,
        snapshotTime: status.streamStartTime ?? stamp,
      });
      return undefined;
    }
    case 'retry':
      await cleanUp(deps, run, false);
      await setStatus(
        {
          phase: 'Pending',
          reason: step.reason,
          message: step.message,
          attempt: attemptOf(run) + 1,
          streamStartTime: undefined,
        },
        { status: 'Unknown', reason: step.reason, message: step.message },
      );
      await event(deps, run, 'Warning', step.reason, step.message);
      return undefined;
    case 'fail':
      await finish(deps, run, 'Failed', step.reason, step.message, {});
      return undefined;
    case 'done':
      await cleanUp(deps, run);
      return undefined;
  }
}

/** The run's end: its status, the ApplicationDump's, an Event, and its temporaries removed. */
async function finish(
  deps: DumpDeps,
  run: DumpRun,
  phase: 'Succeeded' | 'Failed',
  reason: NonNullable<DumpRun['status']>['reason'] & string,
  message: string,
  fields: { snapshotId?: string; bytes?: number; snapshotTime?: string },
): Promise<void> {
  const now = deps.now();
  const stamp = timestamp(now);
  await statusWriter(
    deps.client,
    kinds.dumpRun,
    run,
    now,
  )(
    { phase, reason, message, completionTime: stamp, ...fields },
    { status: phase === 'Succeeded' ? 'True' : 'False', reason, message },
  );
  await event(
    deps,
    run,
    phase === 'Succeeded' ? 'Normal' : 'Warning',
    phase === 'Succeeded' ? 'DumpStored' : reason,
    message,
  );
  await ignoreNotFound(() =>
    writeStatus<ApplicationDump>(
      deps.client,
      kinds.applicationDump,
      { namespace: run.metadata.namespace, name: run.spec.dump },
      (current) => {
        const lastRun = current.status?.lastRun;
        // Never an older run over a newer one's record.
        if (lastRun !== undefined && lastRun.time > stamp) return undefined;
        return {
          ...current.status,
          lastRun: { name: run.metadata.name, phase, time: stamp },
          ...(phase === 'Succeeded'
            ? {
                lastSuccess: {
                  name: run.metadata.name,
                  time: fields.snapshotTime ?? stamp,
                  ...(fields.bytes === undefined ? {} : { bytes: fields.bytes }),
                },
              }
            : {}),
          ...(run.status?.covers === undefined ? {} : { covers: run.status.covers }),
        };
      },
    ),
  );
  await cleanUp(deps, run);
}

/** The stream's start is written first, against the API's copy: a run's attempt streams once, whoever asks. */
async function startStream(
  deps: DumpDeps,
  observed: ObservedDump,
  run: DumpRun,
  moverPod: string,
  timeoutMs: number,
  objects: { scope: 'Namespace' | 'Cluster'; excludeKinds?: string[] | undefined } | undefined,
): Promise<void> {
  const status = run.status ?? {};
  const claim = { won: false };
  const stamp = timestamp(deps.now());
  await writeStatus<DumpRun>(
    deps.client,
    kinds.dumpRun,
    { namespace: run.metadata.namespace, name: run.metadata.name },
    (current) => {
      if (current.status?.phase !== 'Running' || current.status.streamStartTime !== undefined) return undefined;
      if (attemptOf(current) !== attemptOf(run)) return undefined;
      claim.won = true;
      return {
        ...current.status,
        streamStartTime: stamp,
        reason: 'Streaming',
        message: streamingMessage(run, observed.observation.target),
      };
    },
  );
  if (!claim.won) return;
  const ns = run.metadata.namespace;
  const source: RelaySource =
    status.pod === undefined
      ? {
          kind: 'produced',
          what: dumpedWhat(run, observed.observation.target),
          produce: () =>
            namespaceObjects(
              deps.client,
              objects?.scope === 'Cluster' ? undefined : ns,
              objects?.excludeKinds ?? [],
              new Date(stamp),
            ),
        }
      : {
          kind: 'exec',
          app: { namespace: ns, pod: status.pod, container: status.container ?? '', command: status.command ?? [] },
        };
  deps.relays.start(
    { key: relayKey(run), source, mover: { namespace: deps.namespace, pod: moverPod }, timeoutMs },
    (outcome) => {
      if (outcome.exitCode !== 0)
        void event(
          deps,
          run,
          'Warning',
          'DumpCommandFailed',
          `${relayedWhat(source)}: ${outcome.exitCode === undefined ? 'did not finish' : `exited ${outcome.exitCode}`} after ${outcome.bytes} bytes${outcome.message === '' ? '' : `: ${outcome.message}`}`,
        ).catch(() => undefined);
    },
  );
}

async function createJob(
  deps: DumpDeps,
  run: DumpRun,
  repository: BackupRepository,
  spec: ParsedApplicationDumpSpec | undefined,
): Promise<string | undefined> {
  const ns = run.metadata.namespace;
  const timeout = spec?.timeout ?? '1h';
  const tenant = tenantOf(repository.spec, ns);
  const credentials = await repositoryCredentials(deps.client, deps.namespace, repository, tenant);
  if ('missing' in credentials) return credentials.missing;
  const common = {
    repository: {
      engine: repository.spec.engine,
      url: repositoryUrl(repository.spec, ns),
      region: repository.spec.s3.region,
      initialize: true,
      source: repositorySource(deps.namespace, repository, tenant),
    },
    host: resticHost(repository.spec, ns, `dump-${run.spec.dump}`),
    tags: [`namespace=${ns}`, `dump=${run.spec.dump}`, `run=${run.metadata.name}`],
    cacheDir: moverCacheDir,
    compression: repository.spec.compression,
  };
  const source = await sourceTask(deps, run, spec, common, repository.spec.verifyBeforeUpload);
  if ('missing' in source) return source.missing;
  const { task } = source;
  const labels = {
    [dumpLabels.run]: run.metadata.name,
    [dumpLabels.dump]: run.spec.dump.slice(0, 63),
    [runLabels.namespace]: ns,
    [runLabels.component]: 'mover',
  };
  const annotations = ownerRecord('DumpRun', run);
  await createCredentialsSecret(
    deps.client,
    { name: secretName(run), namespace: deps.namespace, labels, annotations },
    { ...credentials.data, ...source.data },
  );
  await ignoreAlreadyExists(() =>
    deps.client.create(
      kinds.job,
      moverJob({
        name: dumpJobName(run),
        namespace: deps.namespace,
        labels,
        annotations,
        mover: deps.mover,
        task,
        secretName: secretName(run),
        etcdNodeSelector: spec?.etcd?.nodeSelector,
        // The dump's own time, and a little for the mover to start and the repository to open.
        deadlineSeconds: Math.round(durationMs(timeout) / 1000) + 300,
      }),
    ),
  );
  return undefined;
}

/** The Job and the Secret of the run; the clean-up is recorded once the run has finished. */
async function cleanUp(deps: DumpDeps, run: DumpRun, record = true): Promise<void> {
  deps.relays.forget(relayKey(run));
  await ignoreNotFound(() =>
    deps.client.delete(
      kinds.job,
      { namespace: deps.namespace, name: dumpJobName(run) },
      { propagationPolicy: 'Background' },
    ),
  );
  await ignoreNotFound(() => deps.client.delete(kinds.secret, { namespace: deps.namespace, name: secretName(run) }));
  if (record && dumpRunFinished(run))
    await ignoreNotFound(() =>
      statusWriter(
        deps.client,
        kinds.dumpRun,
        run,
        deps.now(),
      )({}, cleanedUp('the mover Job and its Secret are deleted')),
    );
}

function event(
  deps: DumpDeps,
  run: DumpRun,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): Promise<void> {
  return runEvent(deps.client, 'DumpRun', run, { type, reason, message }, deps.now());
}
