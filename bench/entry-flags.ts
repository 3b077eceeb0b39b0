// The Node flags the shipped entry point runs with, read from the shebang of
// src/bin/safehold.ts (`#!/usr/bin/env -S node <flags>`), so a benchmark runs
// the operator and the mover as the image does, with one place to change them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../testenv/paths.ts';

export function entryNodeFlags(): string[] {
  const shebang = readFileSync(join(repoRoot, 'src/bin/safehold.ts'), 'utf8').split('\n')[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node(?<flags>( --\S+)*)$/.exec(shebang);
  if (match === null)
    throw new Error(
      `src/bin/safehold.ts: a shebang of the form "#!/usr/bin/env -S node --flag ..." was expected, not ${shebang}`,
    );
  return (match.groups?.flags ?? '').split(' ').filter((flag) => flag !== '');
}
