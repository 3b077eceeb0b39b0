// The mover knows the repository password and the S3 keys; none of them may
// reach a log line or the termination message, whatever restic or a bug puts
// in a message. Everything the mover prints passes through redact().
export const redacted = '[redacted]';

export function secretRedactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  // Longest first, so a secret that contains another is hidden whole.
  const known = secrets.filter((s): s is string => s !== undefined && s !== '').sort((a, b) => b.length - a.length);
  return (text) => known.reduce((out, secret) => out.replaceAll(secret, redacted), text);
}
