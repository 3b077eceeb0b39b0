// The names under which a mover Pod runs `safehold`: the entry point reads
// them before it loads anything else, so this file imports nothing.

/** What a mover Job's container runs: `safehold mover`. */
export const moverCommandName = 'mover';

/** The hidden command the engine runs for a block backup: `safehold image-stream PLAN`. */
export const imageStreamCommandName = 'image-stream';

/** The hidden command the engine runs for an application dump: `safehold dump-stream FIFO` (ADR 0026). */
export const dumpStreamCommandName = 'dump-stream';
