// src/mover/restic: restic as the repository engine (src/mover/engine.ts).
// Everything that knows restic's command lines, its --json output, its exit
// codes and its words is here; src/mover/engines.ts is the only importer.
export { resticEngine } from './engine.ts';
