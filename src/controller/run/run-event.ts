// An Event on a run object (a VolumeRestore, a DumpRun, ...), as kubectl
// describe shows it. Best effort: a run is never held up by its Event.
import { apiGroup, apiVersion } from '../../api/index.ts';
import type { RunKindName } from '../../core/index.ts';
import { recordEvent, type KubeClient } from '../../kube/index.ts';
import type { RunObject } from './run-kind.ts';

export async function runEvent(
  client: KubeClient,
  kind: RunKindName,
  run: RunObject,
  event: { type: 'Normal' | 'Warning'; reason: string; message: string },
  now: Date,
): Promise<void> {
  await recordEvent(
    client,
    {
      object: {
        apiVersion: `${apiGroup}/${apiVersion}`,
        kind,
        name: run.metadata.name,
        namespace: run.metadata.namespace,
        uid: run.metadata.uid,
      },
      ...event,
    },
    'safehold',
    now,
  ).catch(() => undefined);
}
