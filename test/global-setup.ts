// Brings the real test environment up once per test run (or reuses one that
// `npm run env up` started) and stops it afterwards if this run started it;
// in one it reused, it removes the buckets the run made.
import type { TestProject } from 'vitest/node';
import { bucketsMadeFrom } from '../testenv/ceph/ceph-health.ts';
import { down, isRunning, up } from '../testenv/environment.ts';
import { defaultEnvDir } from '../testenv/paths.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    testenvDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = defaultEnvDir;
  const wasRunning = isRunning(dir);
  const env = await up(dir, (line) => {
    console.log(line);
  });
  const removeBucketsMade = await bucketsMadeFrom(env.ceph);
  project.provide('testenvDir', dir);
  return async () => {
    // What the journeys wrote to S3 goes with them, so runs do not fill the OSD.
    if (wasRunning) await removeBucketsMade();
    else await down(dir);
  };
}
