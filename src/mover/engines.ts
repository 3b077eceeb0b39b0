// The repository engines, by name: the one place that reaches into an engine's
// folder (lint enforces it). Each is loaded when a task needs it, so a mover
// carries only the engine it runs.
import type { RepositoryEngine } from './engine.ts';

const engines = {
  restic: async () => (await import('./restic/index.ts')).resticEngine,
} satisfies Record<string, () => Promise<RepositoryEngine>>;

export type EngineName = keyof typeof engines;

/** The engine of every repository until the API names one per repository. */
export const defaultEngine: EngineName = 'restic';

export function loadEngine(name: EngineName): Promise<RepositoryEngine> {
  return engines[name]();
}
