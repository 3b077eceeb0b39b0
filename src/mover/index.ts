// src/mover: the program inside mover Jobs. It gets its task as JSON, runs
// restic or the block streamer, prints JSON lines and leaves its summary in
// the termination message. It never calls the API server (lint enforces it).
export {};
