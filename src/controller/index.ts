// src/controller: reconcilers that join core decisions to kube I/O, and the
// operator's metrics. runOperator is the whole operator.
export { runOperator, type Log, type OperatorDeps, type OperatorOptions } from './operator.ts';
