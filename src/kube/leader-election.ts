// Lease-based leader election (coordination.k8s.io/v1), as client-go does it:
// take the Lease when it is free or its holder stopped renewing, renew it well
// before it expires, and report loss the moment a renewal misses the deadline
// so the caller stops acting (and, as an operator should, exits to restart).
// The deadline is kept on the monotonic clock and checked before every write
// the controllers send (`fence`): a replica that was paused past its deadline
// (SIGSTOP, a long GC, a frozen VM) writes nothing once it runs again, not
// even a renewal, because another replica may already lead.
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlreadyExists, isConflict, isNotFound } from './api-error.ts';
import type { KubeClient } from './client.ts';
import { noRetry } from './request-retry.ts';
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

/** A write refused because this replica no longer holds the Lease for certain. */
export class NotLeaderError extends Error {
  readonly fenced = true;
  constructor(identity: string, lease: string) {
    super(`${identity} no longer holds Lease ${lease} for certain: the write was not sent`);
    this.name = 'NotLeaderError';
  }
}

/** Timings as client-go names them; undefined when they can hold, else what is wrong with them. */
export function leaderTimingsError(o: {
  leaseDurationSeconds: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}): string | undefined {
  return o.retryPeriodMs > 0 && o.retryPeriodMs < o.renewDeadlineMs && o.renewDeadlineMs < o.leaseDurationSeconds * 1000
    ? undefined
    : `leader election needs retry period < renew deadline < lease duration (got ${o.retryPeriodMs / 1000} s, ${o.renewDeadlineMs / 1000} s, ${o.leaseDurationSeconds} s)`;
}

export class LeaderElector {
  readonly #client: KubeClient;
  readonly #o: Required<LeaderElectionOptions>;
  /** The Lease as our last write left it: renewals PUT it directly, with no GET first. */
  #held: Lease | undefined;
  /** performance.now() when the last successful acquire or renewal was sent; the deadline counts from it. */
  #renewedAt = -Infinity;
  #lost = false;
  readonly #lostNow = new AbortController();

  constructor(client: KubeClient, options: LeaderElectionOptions) {
    const o = {
      leaseDurationSeconds: 15,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      now: () => new Date(),
      ...options,
    };
    const wrong = leaderTimingsError(o);
    if (wrong !== undefined) throw new Error(wrong);
    this.#o = o;
    // Its own client: the Lease never waits behind the controllers' rate limit, and one attempt never outlives the deadline.
    this.#client = client.derive({
      rateLimit: undefined,
      retry: noRetry,
      timeoutMs: Math.max(1, Math.floor(o.renewDeadlineMs / 2)),
      fence: undefined,
    });
  }

  /** True while the last renewal is younger than the renew deadline (and loss was not declared). */
  leading(): boolean {
    return !this.#lost && performance.now() - this.#renewedAt < this.#o.renewDeadlineMs;
  }

  /** A client fence: throws, and declares the Lease lost, when this replica may no longer act. */
  readonly fence = (): void => {
    if (this.leading()) return;
    this.#declareLost();
    throw new NotLeaderError(this.#o.identity, `${this.#o.namespace}/${this.#o.name}`);
  };

  /** Resolves once this process holds the Lease (or the signal aborts). */
  async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.#attempt()) return true;
      await sleep(this.#o.retryPeriodMs, undefined, { signal }).catch(() => undefined);
    }
    return false;
  }

  /**
   * Renews every retry period until a renewal misses the deadline, a fenced
   * write finds it missed, or the signal aborts; resolves with why it stopped.
   * Only a replica that stopped while still leading gives the Lease up.
   */
  async holdUntilLost(signal: AbortSignal): Promise<'lost' | 'stopped'> {
    const woken = AbortSignal.any([signal, this.#lostNow.signal]);
    while (!woken.aborted) {
      await sleep(this.#o.retryPeriodMs, undefined, { signal: woken }).catch(() => undefined);
      if (this.#lost || !this.leading()) return this.#declareLost();
      if (signal.aborted) break;
      await this.#attempt().catch(() => false);
      if (!this.leading()) return this.#declareLost();
    }
    if (this.#lost) return 'lost';
    await this.release().catch(() => undefined);
    return 'stopped';
  }

  #declareLost(): 'lost' {
    this.#lost = true;
    this.#lostNow.abort();
    return 'lost';
  }

  /** One acquire-or-renew; a success moves the deadline to when it was sent. */
  async #attempt(): Promise<boolean> {
    if (this.#lost) return false;
    const sent = performance.now();
    const ok = await this.#tryAcquireOrRenew();
    if (ok) this.#renewedAt = sent; // leading() still answers false once loss was declared
    return ok;
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
      if (holder !== '' && holder !== this.#o.identity && !expired) {
        // Someone else renewed it: a replica that led has lost it, whatever its deadline says.
        if (this.#renewedAt !== -Infinity) this.#declareLost();
        return false;
      }
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
