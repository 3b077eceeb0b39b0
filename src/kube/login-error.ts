// Why logging in failed, always naming whose login it was (a kubeconfig user
// or cluster, or the Pod's service account) and the file or plugin at fault.

export class LoginError extends Error {
  override name = 'LoginError';

  readonly subject: string;
  readonly detail: string;

  /** `subject` is like `kubeconfig user "alice"`; `detail` names the file or plugin and what went wrong. */
  constructor(subject: string, detail: string, options?: ErrorOptions) {
    super(`${subject}: ${detail}`, options);
    this.subject = subject;
    this.detail = detail;
  }
}

/** A file error as a few words: `no such file`, `permission denied`, else Node's message. */
export function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a folder, not a file';
    case undefined:
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
