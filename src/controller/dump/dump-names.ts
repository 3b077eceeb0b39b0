// The names of a DumpRun's objects and of its stream: one per run and attempt.
import type { DumpRun } from '../../api/index.ts';
import { attemptOf, runObjectBase } from '../../core/index.ts';

const dumpKindTag = 'dump:';

export function dumpJobName(run: DumpRun): string {
  return `${runObjectBase(run, dumpKindTag)}-${attemptOf(run)}`;
}

export function secretName(run: DumpRun): string {
  return `${runObjectBase(run, dumpKindTag)}-creds`;
}

export function relayKey(run: DumpRun): string {
  return `${run.metadata.uid ?? ''}/${attemptOf(run)}`;
}
