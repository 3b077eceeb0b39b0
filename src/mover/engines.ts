// The repository engines, by name: the one place that reaches into an engine's
// folder (lint enforces it). Each is loaded when a task needs it, so a mover
// carries only the engine it runs.
import type { RepositoryEngineName } from '../api/index.ts';
import type { RepositoryEngine } from './engine.ts';

const engines = {
  restic: async () => (await import('./restic/index.ts')).resticEngine,
} satisfies Record<RepositoryEngineName, () => Promise<RepositoryEngine>>;

/** A task names its repository's engine (BackupRepository spec.engine); each has its loader here. */
export function loadEngine(name: RepositoryEngineName): Promise<RepositoryEngine> {
  return engines[name]();
}
