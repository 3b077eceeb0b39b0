// Lease-based leader election (coordination.k8s.io/v1), as client-go does it:
// take the Lease when it is free or its holder stopped renewing, renew it well
// before it expires, and report loss the moment a renewal misses the deadline
// so the caller stops acting (and, as an operator should, exits to restart).
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlreadyExists, isConflict, isNotFound } from './api-error.ts';
import type { KubeClient } from './client.ts';
import { kinds } from './resources.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  now?: () => Date;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  readonly #client: KubeClient;
  readonly #o: Required<LeaderElectionOptions>;
  /** The Lease as our last write left it: renewals PUT it directly, with no GET first. */
  #held: Lease | undefined;

  constructor(client: KubeClient, options: LeaderElectionOptions) {
    this.#client = client;
    this.#o = {
      leaseDurationSeconds: 15,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      now: () => new Date(),
      ...options,
    };
  }

  /** Resolves once this process holds the Lease (or the signal aborts). */
  async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew()) return true;
      await sleep(this.#o.retryPeriodMs, undefined, { signal }).catch(() => undefined);
    }
    return false;
  }

  /** Renews until a renewal misses the deadline or the signal aborts; resolves with why it stopped. */
  async holdUntilLost(signal: AbortSignal): Promise<'lost' | 'stopped'> {
    let lastRenew = Date.now();
    while (!signal.aborted) {
      const stopped = await sleep(this.#o.retryPeriodMs, false, { signal }).catch(() => true);
      if (stopped) break;
      const renewed = await this.#tryAcquireOrRenew().catch(() => false);
      if (renewed) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.#o.renewDeadlineMs) return 'lost';
    }
    await this.release().catch(() => undefined);
    return 'stopped';
  }

  /** Gives the Lease up so a successor need not wait for it to expire. */
  async release(): Promise<void> {
    const lease = await this.#get();
    if (lease?.spec?.holderIdentity !== this.#o.identity) return;
    await this.#client.replace(kinds.lease, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.#o.now()) },
    });
  }

  async #get(): Promise<Lease | undefined> {
    try {
      return await this.#client.get<Lease>(kinds.lease, { namespace: this.#o.namespace, name: this.#o.name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = this.#o.now();
    const lease = this.#held ?? (await this.#get());
    this.#held = undefined;
    const spec = {
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: this.#o.leaseDurationSeconds,
      renewTime: microTime(now),
    };
    try {
      if (lease === undefined) {
        this.#held = await this.#client.create<Lease>(kinds.lease, {
          metadata: { name: this.#o.name, namespace: this.#o.namespace },
          spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      }
      const holder = lease.spec?.holderIdentity ?? '';
      const renewed = Date.parse(lease.spec?.renewTime ?? '') || 0;
      const expired = renewed + (lease.spec?.leaseDurationSeconds ?? 0) * 1000 < now.getTime();
      if (holder !== '' && holder !== this.#o.identity && !expired) return false;
      const taking = holder !== this.#o.identity;
      this.#held = await this.#client.replace<Lease>(kinds.lease, {
        ...lease,
        spec: {
          ...lease.spec,
          ...spec,
          ...(taking ? { acquireTime: microTime(now), leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 } : {}),
        },
      });
      return true;
    } catch (error) {
      if (isConflict(error) || isAlreadyExists(error)) return false;
      throw error;
    }
  }
}
