// A running mover's latest progress, as the operator can learn it without the
// mover ever talking to the API server: the last progress line the mover
// printed, read from its Pod's log through the API (pods/log). Best effort:
// no log, no progress; the result itself always comes from the termination
// message.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { moverProgress, type MoverProgress } from '../../api/index.ts';
import type { KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';

const tailLines = 20;

export async function readProgress(
  deps: { client: KubeClient; cache: ClusterCache },
  namespace: string,
  jobName: string,
): Promise<MoverProgress | undefined> {
  const pod = deps.cache.podsOfJob(namespace, jobName).find((p: Pod) => p.status?.phase === 'Running');
  if (pod?.metadata?.name === undefined) return undefined;
  let log: string;
  try {
    log = await deps.client.podLog(namespace, pod.metadata.name, { container: 'mover', tailLines });
  } catch {
    return undefined;
  }
  return lastProgress(log);
}

/** The last progress message among a mover's stdout lines, if any. */
export function lastProgress(log: string): MoverProgress | undefined {
  const lines = log.split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = moverProgress.safeParse(JSON.parse(line));
      if (parsed.success) return parsed.data;
    } catch {
      // a line cut by the tail, or restic's own text
    }
  }
  return undefined;
}
