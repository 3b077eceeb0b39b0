// One maintenance task, in the order a repository needs: open it (never
// create it: maintenance of a repository that is not there is a mistake to
// report), remove stale locks, forget the snapshots the controller names,
// prune, check, then count what is left. Every step can be run again after a
// crash: snapshots already forgotten count as done, and prune and check start
// over. Damage a check finds is part of the summary, not a failure of the mover.
import type { MaintenanceSummary, MaintenanceTask } from '../api/index.ts';
import type { Repository } from './engine.ts';
import type { Failure, Outcome } from './failure.ts';
import { planForget } from './forget-plan.ts';

export interface MaintenanceSteps {
  repository: Repository;
  nowMs: () => number;
  /** A line for people reading the mover's log: what maintenance does, and what prune and forget say. */
  log: (text: string) => void;
}

type Forgot = Pick<MaintenanceSummary, 'forgotten' | 'alreadyGone'>;

export async function runMaintenance(
  task: MaintenanceTask,
  steps: MaintenanceSteps,
): Promise<MaintenanceSummary | Failure> {
  const started = steps.nowMs();
  const { repository, log } = steps;
  const notCreated = 'maintenance never creates one: check the URL (the first backup creates the repository)';
  const notReady = await repository.prepare({ create: false, notCreated });
  if (notReady !== undefined) return notReady;

  const forgot: Outcome<Forgot> =
    task.forget.length === 0 ? { ok: true, value: { forgotten: 0, alreadyGone: 0 } } : await forget(task.forget, steps);
  if (!forgot.ok) return forgot.error;
  if (task.prune) log('pruning: removing the data no snapshot uses');
  const pruned = task.prune ? await repository.prune() : undefined;
  if (pruned?.ok === false) return pruned.error;
  const subset = task.check?.readDataSubset;
  if (task.check !== undefined)
    log(`checking the repository${subset === undefined ? '' : `, reading ${subset} of the data`}`);
  const checked = task.check === undefined ? undefined : await repository.check(subset);
  if (checked?.ok === false) return checked.error;
  const left = await repository.snapshotIds();
  if (!left.ok) return left.error;
  const size = await repository.size();

  return {
    type: 'maintenance',
    ...forgot.value,
    ...(pruned === undefined ? {} : { prune: pruned.value }),
    ...(checked === undefined ? {} : { check: checked.value }),
    snapshots: left.value.length,
    ...(size === undefined ? {} : { repositoryBytes: size }),
    durationSeconds: (steps.nowMs() - started) / 1000,
  } satisfies MaintenanceSummary;
}

/** The named snapshots that are still there, forgotten by full id; those already gone count as done. */
async function forget(named: readonly string[], steps: MaintenanceSteps): Promise<Outcome<Forgot>> {
  const existing = await steps.repository.snapshotIds();
  if (!existing.ok) return existing;
  const plan = planForget(named, existing.value);
  if (!plan.ok) {
    const which = plan.ambiguous.map((a) => `${a.name} fits ${a.matches} snapshots`).join(', ');
    const message = `forgot nothing: ${which}; the task must name each snapshot by a longer id`;
    return { ok: false, error: { type: 'error', code: 'InvalidTask', message } };
  }
  const short = (ids: readonly string[]) => ids.map((id) => id.slice(0, 8)).join(', ');
  const gone = plan.gone.length === 0 ? '' : `; already gone: ${short(plan.gone)}`;
  steps.log(
    `forgetting ${plan.present.length} snapshots${plan.present.length === 0 ? '' : ` (${short(plan.present)})`}${gone}`,
  );
  if (plan.present.length > 0) {
    // Full ids: a prefix the engine resolves itself could by then fit a newer snapshot.
    const forgotten = await steps.repository.forget(plan.present);
    if (!forgotten.ok) return forgotten;
  }
  return { ok: true, value: { forgotten: plan.present.length, alreadyGone: plan.gone.length } };
}
