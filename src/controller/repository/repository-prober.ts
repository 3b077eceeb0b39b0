// Keeps every BackupRepository's Ready condition current: a repository is
// probed when its spec changes (generation) and every ten minutes otherwise,
// one probe at a time across the cluster, so the cost stays a few requests
// per repository per interval. When it was last probed is in its status, so a
// restarted operator does not probe everything again at once.
import {
  apiGroup,
  apiVersion,
  backupRepositoryStatus,
  timestamp,
  type BackupRepositoryStatus,
} from '../../api/index.ts';
import { nextProbe, readyCondition, setCondition, type ReadyCondition } from '../../core/index.ts';
import { isNotFound, kinds, recordEvent, writeStatus, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Log } from '../operator.ts';
import { probeRepository } from './repository-probe.ts';

export interface ProberDeps {
  client: KubeClient;
  cache: ClusterCache;
  namespace: string;
  now: () => Date;
  log: Log;
}

const maxSleepMs = 60_000;

export class RepositoryProber {
  readonly #deps: ProberDeps;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;
  #stopped = false;

  constructor(deps: ProberDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#deps.cache.repositories.onChange(() => void this.#tick());
    void this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** A call, not the field: the field may change while a probe awaits. */
  #isStopped(): boolean {
    return this.#stopped;
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    let wakeAt = this.#deps.now().getTime() + maxSleepMs;
    try {
      await this.#deps.cache.repositories.synced();
      for (const raw of this.#deps.cache.repositories.list()) {
        if (this.#isStopped()) return;
        const name = raw.metadata?.name ?? '';
        const repository = this.#deps.cache.repository(name);
        if (repository === undefined) continue;
        const parsed = backupRepositoryStatus.safeParse(raw.status ?? {});
        const status = parsed.success ? parsed.data : undefined;
        const at = nextProbe(
          { metadata: repository.metadata, ...(status === undefined ? {} : { status }) },
          this.#deps.now(),
        );
        if (at.getTime() > this.#deps.now().getTime()) {
          wakeAt = Math.min(wakeAt, at.getTime());
          continue;
        }
        await this.#probe(name).catch((error: unknown) =>
          this.#deps.log('repository probe failed', {
            repository: name,
            error: error instanceof Error ? error.message : String(error),
          }),
        );
      }
    } finally {
      this.#running = false;
      if (!this.#isStopped()) {
        clearTimeout(this.#timer);
        const delay = this.#again ? 0 : Math.max(1000, wakeAt - this.#deps.now().getTime());
        this.#again = false;
        this.#timer = setTimeout(() => void this.#tick(), delay);
        this.#timer.unref();
      }
    }
  }

  async #probe(name: string): Promise<void> {
    // Re-read: the cache may be behind a spec change, and the condition must name the generation it saw.
    const repository = this.#deps.cache.repository(name);
    if (repository === undefined) return;
    const finding = await probeRepository(this.#deps, repository);
    const condition = readyCondition(finding, repository.metadata.generation);
    await this.#record(name, condition);
  }

  async #record(name: string, condition: ReadyCondition): Promise<void> {
    const stamp = timestamp(this.#deps.now());
    const raw = this.#deps.cache.repositories.get(name);
    const before = backupRepositoryStatus
      .safeParse(raw?.status ?? {})
      .data?.conditions?.find((c) => c.type === 'Ready');
    try {
      await writeStatus<{ metadata: { name: string }; status?: BackupRepositoryStatus }>(
        this.#deps.client,
        kinds.backupRepository,
        { name },
        (current) => {
          return {
            ...current.status,
            lastProbeTime: stamp,
            conditions: setCondition(current.status?.conditions ?? [], condition, stamp),
          };
        },
      );
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    if (before?.reason === condition.reason && before.message === condition.message) return;
    this.#deps.log('repository readiness', { repository: name, reason: condition.reason, message: condition.message });
    // An Event where `kubectl describe backuprepository` shows it (cluster-scoped: in the default namespace).
    await recordEvent(
      this.#deps.client,
      {
        object: { apiVersion: `${apiGroup}/${apiVersion}`, kind: 'BackupRepository', name, uid: raw?.metadata?.uid },
        type: condition.status === 'True' ? 'Normal' : 'Warning',
        reason: condition.reason,
        message: condition.message,
      },
      'safehold',
      this.#deps.now(),
    ).catch(() => undefined);
  }
}
