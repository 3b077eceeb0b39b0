// src/controller: reconcilers that join core decisions to kube I/O, and the
// operator's metrics. (The first reconcilers arrive with coverage, issue 3.)
export {};
