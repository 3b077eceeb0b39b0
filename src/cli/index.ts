// src/cli: the `safehold` command line. It reads the cluster through src/kube
// and decides through src/core; it never holds state of its own.
export { buildProgram, type CliDeps, type ConnectOptions } from './program.ts';
