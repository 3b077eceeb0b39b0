// The folder to back up must exist and be readable before restic runs: restic
// would otherwise save an empty snapshot or fail with a message about paths
// rather than about the volume not being mounted.
import { opendir, stat } from 'node:fs/promises';
import type { Failure } from './failure.ts';

export async function checkSourceFolder(path: string): Promise<Failure | undefined> {
  const notMounted = 'the volume is not mounted where the task says';
  const missing = (why: string, fix = notMounted): Failure => ({
    type: 'error',
    code: 'SourceMissing',
    message: `the source folder ${path} ${why}: ${fix}`,
  });
  try {
    if (!(await stat(path)).isDirectory()) return missing('is not a folder');
    const folder = await opendir(path);
    await folder.close();
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return missing('does not exist');
    if (code === 'EACCES' || code === 'EPERM')
      return missing('cannot be read', 'the mover needs CAP_DAC_READ_SEARCH (ADR 0005)');
    return missing(`cannot be opened (${error instanceof Error ? error.message : String(error)})`);
  }
}
