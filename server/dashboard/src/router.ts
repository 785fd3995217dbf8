// Path routing over the History API: the server answers every dashboard path with index.html.
import { createStore, useStore } from './store.ts';

export const location = createStore(window.location.pathname + window.location.search);

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === location.get()) return;
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  location.set(to);
  window.scrollTo(0, 0);
}

window.addEventListener('popstate', () => location.set(window.location.pathname + window.location.search));

export function useLocation(): { path: string; query: URLSearchParams } {
  const value = useStore(location);
  const [path, search = ''] = value.split('?');
  return { path: path || '/', query: new URLSearchParams(search) };
}

/** `/agents/:id` against `/agents/123` → { id: '123' }, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.replace(/\/+$/, '').split('/');
  if (pattern === '/') return path === '/' ? {} : null;
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i]!.startsWith(':')) params[want[i]!.slice(1)] = decodeURIComponent(got[i]!);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}

/** Turns clicks on in-app <a href> links into navigation without a reload (modified clicks open tabs as usual). */
export function interceptLinks(root: HTMLElement): void {
  root.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as HTMLElement).closest('a');
    if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
    const url = new URL(anchor.href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname.startsWith('/api') || url.pathname.startsWith('/docs')) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}

export { nextPath } from './next-path.ts';
