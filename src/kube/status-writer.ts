// Status writes that survive concurrent writers: read the object, compute the
// new status from it, PUT the status subresource with that resourceVersion,
// and on a conflict read again and recompute, a few times.
import { isConflict } from './api-error.ts';
import type { KubeClient, KubeObject } from './client.ts';
import type { ObjectRef, ResourceKind } from './resources.ts';

export async function writeStatus<T extends KubeObject & { status?: unknown }>(
  client: KubeClient,
  kind: ResourceKind,
  ref: ObjectRef & { name: string },
  compute: (current: T) => T['status'] | undefined,
  attempts = 5,
): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    const current = await client.get<T>(kind, ref);
    const status = compute(current);
    if (status === undefined) return current;
    try {
      return await client.replace<T>(kind, { ...current, status }, 'status');
    } catch (error) {
      if (!isConflict(error) || attempt >= attempts) throw error;
    }
  }
}
