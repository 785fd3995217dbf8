// The /ws connection: one socket per page, reconnecting with backoff, re-authenticating after a 4401 close, and a
// fan-out to the pages that listen. After a gap (reconnect, or the server's `dropped` notice) listeners are told to
// refetch, since events sent while away are not replayed.
import { useEffect, useRef } from 'preact/hooks';
import { session, sessionState } from './session.ts';
import { createStore } from './store.ts';
import type { LiveEvent } from './types.ts';

export type LiveStatus = 'connecting' | 'live' | 'offline';
export const liveStatus = createStore<LiveStatus>('connecting');

/** Sent to listeners after a gap in the stream (reconnect, or events dropped for a slow client): refetch. */
export const RESYNC = Symbol('resync');
type Listener = (event: LiveEvent | typeof RESYNC) => void;
const listeners = new Set<Listener>();

let socket: WebSocket | null = null;
let retryMs = 500;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let wanted = false;

function emit(event: LiveEvent | typeof RESYNC): void {
  for (const listener of listeners) listener(event);
}

function connect(): void {
  const token = session.accessToken();
  if (!wanted || !token) return;
  liveStatus.set('connecting');
  const url = new URL('/ws', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('token', token);
  const ws = new WebSocket(url);
  socket = ws;
  let opened = false;
  ws.onopen = () => {
    opened = true;
    retryMs = 500;
    liveStatus.set('live');
    emit(RESYNC);
  };
  ws.onmessage = (message) => {
    let frame: { type?: string; event?: LiveEvent };
    try {
      frame = JSON.parse(String(message.data));
    } catch {
      return;
    }
    if (frame.type === 'event' && frame.event) emit(frame.event);
    else if (frame.type === 'dropped') emit(RESYNC);
  };
  ws.onclose = async (close) => {
    if (socket !== ws) return;
    socket = null;
    liveStatus.set('offline');
    if (!wanted) return;
    // 4401: the token expired or was revoked. Refresh first; if that fails the session store signs out.
    if (close.code === 4401 && !(await session.refresh())) return session.expired();
    retryTimer = setTimeout(connect, opened ? 0 : retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  };
}

function start(): void {
  if (wanted) return;
  wanted = true;
  connect();
}

function stop(): void {
  wanted = false;
  clearTimeout(retryTimer);
  const ws = socket;
  socket = null;
  ws?.close(1000, 'signed out');
  liveStatus.set('offline');
}

sessionState.subscribe((state) => (state.status === 'signedIn' ? start() : stop()));

/** Calls `listener` for every live event (and `resync` after a gap) while the component is mounted. */
export function useLiveEvents(listener: Listener): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => {
    const forward: Listener = (event) => ref.current(event);
    listeners.add(forward);
    return () => listeners.delete(forward);
  }, []);
}
