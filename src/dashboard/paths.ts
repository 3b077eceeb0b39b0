// The dashboard's addresses, built and read in one place.
export function volumeHref(namespace: string, pvc: string): string {
  return `/volumes/${encodeURIComponent(namespace)}/${encodeURIComponent(pvc)}`;
}

export function namespaceHref(namespace: string): string {
  return `/?namespace=${encodeURIComponent(namespace)}`;
}

export type Route =
  | { page: 'coverage'; namespace: string | undefined }
  | { page: 'volume'; namespace: string; pvc: string }
  | { page: 'coverage-json' };

/** The page an address names; undefined for addresses that are not the dashboard's. */
export function route(url: URL): Route | undefined {
  if (url.pathname === '/') return { page: 'coverage', namespace: url.searchParams.get('namespace') || undefined };
  if (url.pathname === '/api/coverage.json') return { page: 'coverage-json' };
  const volume = /^\/volumes\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  if (volume === null) return undefined;
  try {
    return {
      page: 'volume',
      namespace: decodeURIComponent(volume[1] ?? ''),
      pvc: decodeURIComponent(volume[2] ?? ''),
    };
  } catch {
    return undefined; // a malformed %-escape names no volume
  }
}
