// Log in: email and password; on success the page the person was sent away from.
import { useEffect, useState } from 'preact/hooks';
import { navigate, nextPath } from '../router.ts';
import { session } from '../session.ts';
import { ErrorBox } from '../ui.tsx';

export function LoginPage({ reason }: { reason?: string | undefined }) {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  // A new server has no user yet: say how to make the first admin rather than "wrong email or password".
  const [needsAdmin, setNeedsAdmin] = useState(false);
  useEffect(() => {
    fetch('/api/auth/setup')
      .then((response) => (response.ok ? response.json() : { needsAdmin: false }))
      .then((body: { needsAdmin?: boolean }) => setNeedsAdmin(body.needsAdmin === true))
      .catch(() => undefined);
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    // Read before signing in: the shell may already have moved on to it (and the URL lost its ?next) by the time
    // the login resolves.
    const next = nextPath(window.location.search);
    setBusy(true);
    setError(undefined);
    try {
      await session.login(String(form.get('email')), String(form.get('password')));
      if (window.location.pathname === '/login') navigate(next, { replace: true });
    } catch (caught) {
      setError(caught as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login" id="main">
      <form class="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">
          <span aria-hidden="true">▣</span> Iron Cage
        </h1>
        {reason && !error ? <p class="notice">{reason}</p> : null}
        {needsAdmin ? (
          <p class="notice" role="status">
            This server has no users yet, so nobody can sign in. Create the first admin where the server runs: stop it and start it with{' '}
            <code>iron server --init-admin</code>, or with <code>IRON_ADMIN_EMAIL</code> and <code>IRON_ADMIN_PASSWORD</code> set.
          </p>
        ) : null}
        <ErrorBox error={error} />
        <label class="field">
          <span class="field-label">Email</span>
          <input name="email" type="email" autocomplete="username" required autoFocus />
        </label>
        <label class="field">
          <span class="field-label">Password</span>
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
