// GET /ws: the live event stream for dashboards and scripts. One app.fanout listener (events stored by this instance
// and, through the live channel, by every other) fans out to every socket,
// each event serialized once; a socket only sees the projects its principal may see.
//
// Protocol (JSON text frames):
//   server → client  { type: 'event', event: LiveEvent }
//                    { type: 'ping', time }                          every heartbeatMs (application-level keep-alive)
//                    { type: 'subscribed', projectId } / { type: 'unsubscribed' }
//                    { type: 'dropped', count }                      after a slow client caught up: events it missed
//                    { type: 'dropped', count: null, reason }        the channel between instances reconnected
// Close codes: 4401 unauthorized, 4429 too many sockets, 1012 server restarting (reconnect, maybe elsewhere).
//                    { type: 'error', error: { code, message } }
//   client → server  { type: 'subscribe', projectId } / { type: 'unsubscribe' }
//
// Authentication happens before the upgrade (Bearer header or ?token=), but a failure still completes the upgrade
// and closes with 4401: a browser's WebSocket cannot see the HTTP status of a refused upgrade, and the dashboard must
// tell "log in again" from "server down". Twice a second (IRON_WS_REVALIDATE_MS) the open sockets are checked again in
// four queries for all of them: a revoked or expired API token, a deleted user, an ended login session or an expired
// access token closes its socket with 4401, and a removed membership stops that project's events (a subscription to it ends).
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { WebSocket } from 'ws';
import { principalFor } from '../auth/authenticate.ts';
import { ACCESS_CHANGED, type LiveEvent, type Principal } from '../context.ts';
import { ApiToken, Membership, Session, User } from '../entities/index.ts';
import { envNumber } from '../env.ts';

/** Forwarded types. LlmCallCompleted/LlmCallFailed are included because the dashboard draws live call charts from them. */
export const LIVE_EVENT_TYPES: ReadonlySet<string> = new Set([
  'AgentStarted',
  'AgentStopped',
  'CostUpdate',
  'PiiAlert',
  'BudgetWarning',
  'BudgetExceeded',
  'CircuitOpened',
  'LlmCallCompleted',
  'LlmCallFailed',
]);

export const CLOSE_UNAUTHORIZED = 4401;
/** The standard "service restart" close code: this instance is going away, reconnect (to another). */
export const CLOSE_RESTARTING = 1012;
/** Closed because the principal already has MAX_SOCKETS_PER_PRINCIPAL open. */
export const CLOSE_TOO_MANY = 4429;
/** Open sockets one user or API token may hold (a dashboard uses one per tab). IRON_WS_MAX_PER_PRINCIPAL. */
export const MAX_SOCKETS_PER_PRINCIPAL = 20;
/** Open sockets all API tokens of one project may hold together. IRON_WS_MAX_PER_PROJECT. */
export const MAX_SOCKETS_PER_PROJECT = 100;
/** Largest frame a client may send: its messages are small JSON commands (the ws default would be 100 MiB). */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
/** Above this many queued bytes a client is considered slow and events are dropped for it (counted, then reported). */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

export interface WsOptions {
  /** Interval of `{ type: 'ping' }` messages and protocol pings; default 15 s or IRON_WS_HEARTBEAT_MS. */
  heartbeatMs?: number;
  /** Slow-client threshold in bytes (tests lower it). Default 1 MiB or IRON_WS_MAX_BUFFERED_BYTES. */
  maxBufferedBytes?: number;
  /** How often open sockets' credentials and memberships are checked again. Default 500 ms (revocation reaches sockets within a second, query included) or IRON_WS_REVALIDATE_MS. */
  revalidateMs?: number;
}

interface Client {
  socket: WebSocket;
  principal: Principal;
  visible: Set<string> | 'all';
  /** Narrowed by `subscribe`, already checked against visibility. */
  subscribed: string | null;
  /** Cleared on each heartbeat, set by the pong: a socket still false at the next beat has stopped answering. */
  alive: boolean;
  dropped: number;
  /** When the access token it connected with expires (ms); null for API tokens (their row says). */
  expiresAt: number | null;
}

interface Handshake {
  principal: Principal;
  visible: Set<string> | 'all';
  expiresAt: number | null;
}

/** A JWT's `exp` in ms (the token was verified already; this only reads it). */
function expiryOf(token: string): number | null {
  if (token.startsWith('iron_pat_')) return null;
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

function principalKey(principal: Principal): string {
  return principal.kind === 'token' ? `token:${principal.tokenId}` : `user:${principal.userId}`;
}

function bearer(request: FastifyRequest): string | undefined {
  const header = /^bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  if (header) return header[1];
  const query = request.query as { token?: unknown } | undefined;
  return typeof query?.token === 'string' && query.token ? query.token : undefined;
}

const wsRoutes: FastifyPluginAsync<WsOptions> = async (app: FastifyInstance, options) => {
  const heartbeatMs = options.heartbeatMs ?? envNumber('IRON_WS_HEARTBEAT_MS') ?? 15_000;
  const maxBuffered = options.maxBufferedBytes ?? envNumber('IRON_WS_MAX_BUFFERED_BYTES') ?? MAX_BUFFERED_BYTES;
  const maxPerPrincipal = envNumber('IRON_WS_MAX_PER_PRINCIPAL') ?? MAX_SOCKETS_PER_PRINCIPAL;
  const maxPerProject = envNumber('IRON_WS_MAX_PER_PROJECT') ?? MAX_SOCKETS_PER_PROJECT;
  const clients = new Set<Client>();
  // Filled by the preValidation hook (before the upgrade) and read by the socket handler.
  const handshakes = new WeakMap<FastifyRequest, Handshake>();

  const send = (client: Client, message: unknown): void => {
    if (client.socket.readyState === client.socket.OPEN) client.socket.send(JSON.stringify(message));
  };

  // Attached only while someone listens, so an idle server adds nothing to every ingested event.
  const onLive = (event: LiveEvent): void => {
    if (!LIVE_EVENT_TYPES.has(event.type)) return;
    let frame: string | undefined;
    for (const client of clients) {
      if (client.subscribed !== null ? client.subscribed !== event.projectId : client.visible !== 'all' && !client.visible.has(event.projectId)) continue;
      const socket = client.socket;
      if (socket.readyState !== socket.OPEN) continue;
      if (socket.bufferedAmount > maxBuffered) {
        client.dropped++;
        continue;
      }
      if (client.dropped > 0) {
        // Caught up again: tell it how much it missed so it can refetch instead of trusting a gappy stream.
        socket.send(JSON.stringify({ type: 'dropped', count: client.dropped }));
        client.dropped = 0;
      }
      frame ??= JSON.stringify({ type: 'event', event });
      socket.send(frame);
    }
  };

  // The channel between instances reconnected: events stored elsewhere meanwhile may be missing — refetch.
  const onDropped = (reason: string): void => {
    const frame = JSON.stringify({ type: 'dropped', count: null, reason });
    for (const client of clients) if (client.socket.readyState === client.socket.OPEN) client.socket.send(frame);
  };

  // The one fanout listener is attached while a client is connected and detached with the last one — in one place,
  // whichever way a client goes (it closed, or the server closed it), so listeners can never pile up.
  let listening = false;
  const addClient = (client: Client): void => {
    clients.add(client);
    if (listening) return;
    listening = true;
    app.fanout.on('event', onLive);
    app.fanout.on('dropped', onDropped);
  };
  const removeClient = (client: Client): boolean => {
    const removed = clients.delete(client);
    if (clients.size === 0 && listening) {
      listening = false;
      app.fanout.off('event', onLive);
      app.fanout.off('dropped', onDropped);
    }
    return removed;
  };

  const closeUnauthorized = (client: Client, reason: string): void => {
    send(client, { type: 'error', error: { code: 'IRON_UNAUTHORIZED', message: reason } });
    removeClient(client);
    client.socket.close(CLOSE_UNAUTHORIZED, reason.slice(0, 120));
  };

  /** Checks every open socket's credential and memberships again: four queries, however many sockets. */
  const revalidate = async (): Promise<void> => {
    if (clients.size === 0) return;
    const now = Date.now();
    const em = app.orm.em.fork();
    // The sockets open now: one that opens while the queries run was checked as it opened, and its user is not in
    // them (it was closed as "deleted": a CI run caught it).
    const checked = [...clients];
    const tokenIds = new Set<string>();
    const userIds = new Set<string>();
    for (const { principal } of checked) {
      if (principal.kind === 'token') tokenIds.add(principal.tokenId);
      else userIds.add(principal.userId);
    }
    const sids = [...new Set(checked.flatMap(({ principal }) => (principal.kind === 'user' ? [principal.sid] : [])))];
    const [tokens, users, memberships, sessions] = await Promise.all([
      tokenIds.size ? em.find(ApiToken, { id: { $in: [...tokenIds] } }, { fields: ['id', 'revokedAt', 'expiresAt'] }) : [],
      userIds.size ? em.find(User, { id: { $in: [...userIds] } }, { fields: ['id', 'role'] }) : [],
      userIds.size ? em.find(Membership, { userId: { $in: [...userIds] } }, { fields: ['userId', 'projectId'] }) : [],
      sids.length ? em.find(Session, { family: { $in: sids }, revokedAt: null, expiresAt: { $gt: new Date(now) } }, { fields: ['family'] }) : [],
    ]);
    const liveSessions = new Set(sessions.map((row) => row.family));
    const liveTokens = new Set(tokens.filter((t) => t.revokedAt == null && (t.expiresAt == null || t.expiresAt.getTime() > now)).map((t) => t.id));
    const roles = new Map(users.map((u) => [u.id, u.role]));
    const projectsOf = new Map<string, Set<string>>();
    for (const m of memberships) {
      const set = projectsOf.get(m.userId) ?? new Set<string>();
      set.add(m.projectId);
      projectsOf.set(m.userId, set);
    }
    for (const client of checked) {
      if (!clients.has(client)) continue; // closed meanwhile
      const { principal } = client;
      if (principal.kind === 'token') {
        if (!liveTokens.has(principal.tokenId)) closeUnauthorized(client, 'the API token was revoked or has expired');
        continue;
      }
      const role = roles.get(principal.userId);
      if (!role) {
        closeUnauthorized(client, 'the user was deleted');
        continue;
      }
      if (!liveSessions.has(principal.sid)) {
        closeUnauthorized(client, 'the login session ended (logged out, or the password changed)');
        continue;
      }
      if (client.expiresAt !== null && now >= client.expiresAt) {
        closeUnauthorized(client, 'the access token expired: refresh it and reconnect');
        continue;
      }
      client.principal = { ...principal, role };
      client.visible = role === 'admin' ? 'all' : (projectsOf.get(principal.userId) ?? new Set());
      if (client.subscribed !== null && client.visible !== 'all' && !client.visible.has(client.subscribed)) {
        client.subscribed = null;
        send(client, { type: 'unsubscribed', reason: 'you are no longer a member of that project' });
      }
    }
  };
  // One check at a time; a change that lands during a check asks for one more after it (it may have read too early).
  let revalidating = false;
  let again = false;
  const runRevalidation = (): void => {
    if (revalidating) {
      again = true;
      return;
    }
    revalidating = true;
    again = false;
    revalidate()
      .catch((error: unknown) => app.log.error({ err: error }, 'websocket revalidation failed'))
      .finally(() => {
        revalidating = false;
        if (again) runRevalidation();
      });
  };
  // A change made on this instance is checked at once; the poll covers other instances and expiries.
  app.fanout.on(ACCESS_CHANGED, runRevalidation);
  const revalidator = setInterval(() => {
    if (!revalidating) runRevalidation();
  }, options.revalidateMs ?? envNumber('IRON_WS_REVALIDATE_MS') ?? 500);
  revalidator.unref();

  const heartbeat = setInterval(() => {
    const time = new Date().toISOString();
    for (const client of clients) {
      if (!client.alive) {
        // No pong since the last beat: the peer is gone (or frozen); terminate without a close handshake.
        client.socket.terminate();
        continue;
      }
      client.alive = false;
      client.socket.ping();
      send(client, { type: 'ping', time });
    }
  }, heartbeatMs);
  heartbeat.unref();
  app.addHook('onClose', async () => {
    clearInterval(heartbeat);
    clearInterval(revalidator);
    app.fanout.off(ACCESS_CHANGED, runRevalidation);
    app.fanout.off('event', onLive);
    app.fanout.off('dropped', onDropped);
    clients.clear();
  });

  const handleMessage = async (client: Client, data: unknown): Promise<void> => {
    let message: { type?: unknown; projectId?: unknown };
    try {
      message = JSON.parse(String(data));
    } catch {
      return send(client, { type: 'error', error: { code: 'IRON_BAD_REQUEST', message: 'messages must be JSON' } });
    }
    if (message?.type === 'unsubscribe') {
      client.subscribed = null;
      return send(client, { type: 'unsubscribed' });
    }
    if (message?.type === 'subscribe') {
      const projectId = message.projectId;
      if (typeof projectId !== 'string' || !projectId) {
        return send(client, { type: 'error', error: { code: 'IRON_BAD_REQUEST', message: 'subscribe needs a projectId' } });
      }
      // Checked afresh (not against the connect-time snapshot): a membership granted since then counts.
      const visible = client.visible === 'all' || client.visible.has(projectId) || (await isVisible(client.principal, projectId));
      if (!visible) return send(client, { type: 'error', error: { code: 'IRON_NOT_FOUND', message: `project ${projectId} not found` } });
      client.subscribed = projectId;
      return send(client, { type: 'subscribed', projectId });
    }
    send(client, { type: 'error', error: { code: 'IRON_BAD_REQUEST', message: "unknown message type: expected 'subscribe' or 'unsubscribe'" } });
  };

  const isVisible = async (principal: Principal, projectId: string): Promise<boolean> => {
    try {
      await app.assertProject(principal, projectId);
      return true;
    } catch {
      return false;
    }
  };

  app.route({
    method: 'GET',
    url: '/ws',
    // A plain GET (no Upgrade header) gets an answer in the documented error shape, not an empty 404.
    handler: async (_request, reply) => {
      await reply.code(426).header('upgrade', 'websocket').send({ error: { code: 'IRON_UPGRADE_REQUIRED', message: 'GET /ws is a WebSocket: connect with a WebSocket client (Upgrade: websocket) and an access token or API token' } });
    },
    // Not in the OpenAPI document (REST only); the WebSocket protocol is described at the top of this file and in the README.
    schema: { hide: true, querystring: Type.Object({ token: Type.Optional(Type.String()) }) },
    // Runs before the upgrade; never throws, so a bad token still gets a WebSocket close code a browser can read.
    preValidation: async (request) => {
      const token = bearer(request);
      if (!token) return;
      try {
        const principal = await principalFor(app, request, token);
        if (!principal) return;
        const visible = await app.visibleProjects(principal);
        handshakes.set(request, { principal, visible: visible === 'all' ? 'all' : new Set(visible), expiresAt: expiryOf(token) });
      } catch (error) {
        request.log.warn({ err: error }, 'websocket authentication failed');
      }
    },
    wsHandler: (socket, request) => {
      const handshake = handshakes.get(request);
      if (!handshake) {
        socket.close(CLOSE_UNAUTHORIZED, 'unauthorized: send a valid access token or API token');
        return;
      }
      const key = principalKey(handshake.principal);
      let open = 0;
      for (const other of clients) if (principalKey(other.principal) === key) open++;
      if (open >= maxPerPrincipal) {
        socket.close(CLOSE_TOO_MANY, `too many open sockets for this credential (at most ${maxPerPrincipal})`);
        return;
      }
      // A member can mint API tokens at will: the sockets of one project's tokens together are bounded too.
      const project = handshake.principal.kind === 'token' ? handshake.principal.projectId : undefined;
      if (project !== undefined) {
        let ofProject = 0;
        for (const other of clients) if (other.principal.kind === 'token' && other.principal.projectId === project) ofProject++;
        if (ofProject >= maxPerProject) {
          socket.close(CLOSE_TOO_MANY, `too many open sockets for this project's API tokens (at most ${maxPerProject})`);
          return;
        }
      }
      const client: Client = { socket, principal: handshake.principal, visible: handshake.visible, subscribed: null, alive: true, dropped: 0, expiresAt: handshake.expiresAt };
      addClient(client);
      socket.on('pong', () => {
        client.alive = true;
      });
      socket.on('message', (data) => {
        handleMessage(client, data).catch((error: unknown) => request.log.error({ err: error }, 'websocket message failed'));
      });
      socket.on('close', () => {
        if (!removeClient(client)) return;
        if (client.dropped > 0) request.log.warn({ dropped: client.dropped }, 'slow websocket client closed with dropped events');
      });
    },
  });
};

export default wsRoutes;
