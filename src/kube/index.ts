// src/kube: the only code that talks to the Kubernetes API server. Callers get
// a client, cached watched views (informers), a keyed work queue, and ApiError.
export * from './api-error.ts';
export * from './client.ts';
export * from './informer.ts';
export * from './kubeconfig.ts';
export * from './leader-election.ts';
export * from './events.ts';
export * from './resources.ts';
export * from './status-writer.ts';
export * from './work-queue.ts';
