// The signed-in person. The access token lives only in memory; the refresh token is an HttpOnly cookie the page
// never sees (login asks for `cookie: true`). A reload gets a new access token from /api/auth/refresh; a marker
// in localStorage says whether there is a session worth refreshing (so a signed-out page sends no doomed request).
import { errorOf } from './api.ts';
import { createStore } from './store.ts';
import type { Role } from './types.ts';

export interface SessionUser {
  id: string;
  email: string;
  role: Role;
}

export type SessionState =
  | { status: 'restoring' }
  | { status: 'signedOut'; reason?: string }
  | { status: 'signedIn'; user: SessionUser };

interface TokensBody {
  accessToken: string;
  expiresIn: number;
  user: SessionUser;
}

const MARKER = 'iron.signedIn';
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('iron-session') : null;

let accessToken: string | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | null = null;

export const sessionState = createStore<SessionState>({ status: 'restoring' });

function signedIn(body: TokensBody): void {
  accessToken = body.accessToken;
  localStorage.setItem(MARKER, '1');
  clearTimeout(refreshTimer);
  // A minute before expiry, so open pages and the live socket never hold a dead token.
  refreshTimer = setTimeout(() => void session.refresh(), Math.max(5, body.expiresIn - 60) * 1000);
  sessionState.set({ status: 'signedIn', user: body.user });
}

function signedOut(reason?: string): void {
  accessToken = null;
  clearTimeout(refreshTimer);
  localStorage.removeItem(MARKER);
  sessionState.set(reason ? { status: 'signedOut', reason } : { status: 'signedOut' });
}

async function rotate(): Promise<boolean> {
  const response = await fetch('/api/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', credentials: 'same-origin' });
  if (!response.ok) return false;
  signedIn((await response.json()) as TokensBody);
  return true;
}

export const session = {
  accessToken: (): string | null => accessToken,

  async login(email: string, password: string): Promise<void> {
    const response = await fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password, cookie: true }),
      credentials: 'same-origin',
    });
    if (!response.ok) throw await errorOf(response);
    signedIn((await response.json()) as TokensBody);
    channel?.postMessage('login');
  },

  /** On start-up: back to the session the cookie holds, if any. */
  async restore(): Promise<void> {
    if (!localStorage.getItem(MARKER)) return signedOut();
    if (!(await session.refresh())) signedOut('your session ended: log in again');
  },

  /**
   * A new access token. Refresh tokens rotate and a reused one ends the login, so two tabs must never refresh at
   * once: a Web Lock serializes them across tabs (the second then uses the cookie the first received).
   */
  refresh(): Promise<boolean> {
    refreshing ??= (async () => {
      try {
        return navigator.locks ? await navigator.locks.request('iron-refresh', rotate) : await rotate();
      } catch {
        return false;
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  },

  async logout(): Promise<void> {
    const token = accessToken;
    signedOut();
    channel?.postMessage('logout');
    if (token) {
      await fetch('/api/auth/logout', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: '{}',
        credentials: 'same-origin',
      }).catch(() => undefined);
    }
  },

  /** A request was refused even after a refresh. */
  expired(): void {
    if (sessionState.get().status === 'signedIn') signedOut('your session ended: log in again');
  },
};

channel?.addEventListener('message', (message) => {
  if (message.data === 'logout') signedOut();
  if (message.data === 'login' && sessionState.get().status !== 'signedIn') void session.restore();
});
