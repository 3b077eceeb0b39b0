// src/kube: the only code that talks to the Kubernetes API server. Callers get
// a client, logged in from kubeconfig files or a Pod's service account (login.ts),
// cached watched views (informers), a keyed work queue, and ApiError.
export * from './api-error.ts';
export * from './client.ts';
export * from './credentials.ts';
export * from './exec-plugin.ts';
export * from './informer.ts';
export * from './kubeconfig.ts';
export * from './login.ts';
export * from './login-error.ts';
export * from './leader-election.ts';
export * from './events.ts';
export * from './rate-limiter.ts';
export * from './request-retry.ts';
export * from './resources.ts';
export * from './status-writer.ts';
export * from './work-queue.ts';
export type { AttachRequest, StdinWriter } from './attach.ts';
