// Where to go after signing in: the `next` the sign-out redirect kept, when it is a page of this app — never another
// origin (`//host`, `/\host`, `/<tab>/host` and the like leave it once a browser parses them), never the login page,
// the API or the API docs.
const BASE = 'https://dashboard.invalid';

export function nextPath(search: string): string {
  const next = new URLSearchParams(search).get('next');
  // Control characters and backslashes are what browsers strip or rewrite into `//`: nothing a real path needs.
  if (!next || !next.startsWith('/') || /[\u0000-\u001f\u007f\\]/.test(next)) return '/';
  let url: URL;
  try {
    url = new URL(next, BASE);
  } catch {
    return '/';
  }
  if (url.origin !== BASE || next.startsWith('//')) return '/';
  const path = url.pathname;
  if (/^\/(login|api|docs)(\/|$)/.test(path)) return '/';
  return path + url.search + url.hash;
}
