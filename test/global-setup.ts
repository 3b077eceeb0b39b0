// Brings the real test environment up once per test run (or reuses one that
// `npm run env up` started) and stops it afterwards if this run started it.
import type { TestProject } from 'vitest/node';
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
  await up(dir, (line) => {
    console.log(line);
  });
  project.provide('testenvDir', dir);
  return async () => {
    if (!wasRunning) await down(dir);
  };
}
