// Kubernetes Events on the objects Safehold judges. The name is derived from
// the object and what is said, so the same finding is one Event whose count
// grows, across operator restarts too, instead of a new Event each time.
import { createHash } from 'node:crypto';
import { timestamp } from '../api/index.ts';
import { isAlreadyExists, isNotFound } from './api-error.ts';
import type { KubeClient } from './client.ts';
import { kinds } from './resources.ts';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string | undefined;
  uid?: string | undefined;
}

export interface EventInput {
  object: InvolvedObject;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

interface CoreEvent {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  count?: number;
  lastTimestamp?: string;
}

export async function recordEvent(
  client: KubeClient,
  input: EventInput,
  component = 'safehold',
  now = new Date(),
): Promise<void> {
  const namespace = input.object.namespace ?? 'default';
  const digest = createHash('sha256')
    .update(`${input.object.kind}/${input.object.uid ?? input.object.name}/${input.reason}/${input.message}`)
    .digest('hex')
    .slice(0, 16);
  const name = `${input.object.name}.${digest}`.slice(0, 253);
  const time = timestamp(now);
  try {
    await client.create(kinds.event, {
      metadata: { name, namespace },
      involvedObject: input.object,
      type: input.type,
      reason: input.reason,
      message: input.message,
      source: { component },
      reportingComponent: component,
      reportingInstance: component,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    } as never);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    try {
      const existing = await client.get<CoreEvent>(kinds.event, { namespace, name });
      await client.mergePatch(
        kinds.event,
        { namespace, name },
        { count: (existing.count ?? 1) + 1, lastTimestamp: time },
      );
    } catch (patchError) {
      if (!isNotFound(patchError)) throw patchError;
    }
  }
}
