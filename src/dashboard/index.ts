// src/dashboard: the web page over the same state the CLI shows (M2, seed 003).
export {};
