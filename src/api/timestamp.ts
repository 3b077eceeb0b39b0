// The one way Safehold writes a time into the API: RFC 3339 in UTC with whole
// seconds, as Kubernetes writes its own (metav1.Time).
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
