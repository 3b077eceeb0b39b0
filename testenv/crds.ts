// Installs Safehold's CRDs (generated from src/api) the way the chart would,
// for journeys and benchmarks, and waits until the API server serves them.
import { safeholdCrds } from '../src/api/index.ts';
import { isAlreadyExists, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { waitFor } from './daemons.ts';

type Crd = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };

export async function installCrds(client: KubeClient): Promise<void> {
  for (const crd of safeholdCrds() as KubeObject[]) {
    try {
      await client.create(kinds.customResourceDefinition, crd);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      await client.apply(kinds.customResourceDefinition, crd, { force: true });
    }
    const name = crd.metadata?.name ?? '';
    await waitFor(`CRD ${name} established`, async () => {
      const got = await client.get<Crd>(kinds.customResourceDefinition, { name });
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
    });
  }
}
