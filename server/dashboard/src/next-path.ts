// Where to go after signing in: the `next` the sign-out redirect kept, when it is a path of this app — never another
// origin (`//host` or `/\\host` would leave it), never the login page itself.
export function nextPath(search: string): string {
  const next = new URLSearchParams(search).get('next');
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || next.startsWith('/login')) return '/';
  return next;
}
