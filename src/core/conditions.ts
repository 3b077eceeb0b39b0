// Setting one condition in a status's list, Kubernetes-style: its
// lastTransitionTime moves only when its status changes.
import type { Condition } from '../api/index.ts';

export function setCondition(
  conditions: readonly Condition[],
  next: Omit<Condition, 'lastTransitionTime'>,
  stamp: string,
): Condition[] {
  const old = conditions.find((c) => c.type === next.type);
  const lastTransitionTime =
    old?.status === next.status && old.lastTransitionTime !== '' ? old.lastTransitionTime : stamp;
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}
