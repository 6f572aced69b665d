import { useEffect, useState } from 'react';

/** The console's pages live in the URL's hash (#/fleet?kind=…), so /console serves one file. */
export interface Route {
  page: string;
  arg: string | null;
  params: URLSearchParams;
}

export function parse(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const [page = 'fleet', ...rest] = path.split('/');
  return { page: page || 'fleet', arg: rest.length > 0 ? decodeURIComponent(rest.join('/')) : null, params: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const on = () => setRoute(parse(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function href(page: string, arg?: string | null, params?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v) q.set(k, v);
  const s = q.toString();
  return `#/${page}${arg ? `/${encodeURIComponent(arg)}` : ''}${s ? `?${s}` : ''}`;
}

/** Replaces the hash's query without a new history entry (filters as the user types). */
export function replaceParams(page: string, params: Record<string, string | undefined>): void {
  history.replaceState(null, '', href(page, null, params));
}
