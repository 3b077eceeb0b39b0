// The engines benchmark's results as one table per tree: for each step of each
// engine its seconds, CPU seconds (user and system) and peak memory, and what
// each repository stores.
import { engineLabels, engineNames } from './engine-peers.ts';
import { treeTitles, type EnginesBenchResult, type EngineSteps, type TreeResult } from './engines.ts';
import type { Measured } from './process-usage.ts';

const cell = (m: Measured) =>
  `${m.seconds.toFixed(1).padStart(6)} s ${m.cpuSeconds.toFixed(0).padStart(4)} cpu ${m.peakMiB.toFixed(0).padStart(5)} MiB`;
const width = cell({ seconds: 0, cpuSeconds: 0, peakMiB: 0 }).length;

function columns(tree: TreeResult): [string, (steps: EngineSteps) => string][] {
  const changed: [string, (steps: EngineSteps) => string][] =
    tree.changed === undefined
      ? []
      : [
          [
            '10% changed (stored +MiB)',
            (s) =>
              s.changedRebackup === undefined
                ? ''
                : `${cell(s.changedRebackup)} +${(s.changedRebackup.storedMiB - s.rebackup.storedMiB).toFixed(0)}`,
          ],
        ];
  return [
    ['first backup', (s) => cell(s.backup)],
    ['unchanged re-backup', (s) => cell(s.rebackup)],
    ...changed,
    ['restore (checked)', (s) => cell(s.restore)],
    ['stored', (s) => `${(s.changedRebackup ?? s.rebackup).storedMiB.toFixed(0).padStart(6)} MiB`],
  ];
}

export function enginesTables(result: EnginesBenchResult): string {
  const labelWidth = Math.max(...engineNames.map((n) => engineLabels[n].length)) + 2;
  return result.trees
    .map((tree) => {
      const cols = columns(tree);
      const widths = cols.map(([title]) => Math.max(width + 5, title.length) + 2);
      const header = cols.map(([title], i) => title.padEnd(widths[i] ?? 0)).join('');
      const rows = engineNames.map((name) =>
        `  ${engineLabels[name].padEnd(labelWidth)}${cols.map(([, get], i) => get(tree.engines[name]).padEnd(widths[i] ?? 0)).join('')}`.trimEnd(),
      );
      return [
        `${treeTitles[tree.tree]}: ${tree.files.toLocaleString('en')} files, ${(tree.bytes / 2 ** 30).toFixed(2)} GiB; cold read ${tree.coldReadSeconds.toFixed(1)} s`,
        `  ${''.padEnd(labelWidth)}${header}`.trimEnd(),
        ...rows,
      ].join('\n');
    })
    .join('\n\n');
}
