// The guide's Troubleshooting section names every reason a run, a repository
// or a maintenance can end or wait with: a reason nobody explains is a defect.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  backupReasons,
  bucketRestoreReasons,
  downloadReasons,
  drillReasons,
  dumpRunReasons,
  maintenanceReasons,
  repositoryReadyReasons,
  restoreReasons,
  runFailureReasons,
} from './index.ts';

const guide = readFileSync(join(import.meta.dirname, '../../docs/guide.md'), 'utf8');
const start = guide.indexOf('\n## Troubleshooting');
const end = guide.indexOf('\n## ', start + 1);
const section = guide.slice(start, end === -1 ? undefined : end);

describe('the Troubleshooting section', () => {
  it.each(
    Object.entries({
      backupReasons,
      restoreReasons,
      downloadReasons,
      bucketRestoreReasons,
      dumpRunReasons,
      drillReasons,
      maintenanceReasons,
      repositoryReadyReasons,
      runFailureReasons,
    }),
  )('explains every one of %s', (_, reasons) => {
    const unexplained = [...reasons].filter((r) => r !== 'Succeeded' && !section.includes(`\`${r}\``));
    expect(unexplained).toEqual([]);
  });
});
