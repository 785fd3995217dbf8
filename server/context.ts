// What every route can rely on: the database, the signed-token keys, who is calling, the live event hub.
import type { EntityManager } from '@mikro-orm/core';
import type { EventEmitter } from 'node:events';
import type { Orm } from './db.ts';
import type { ServerKey } from './auth/server-key.ts';
import type { AccessTokens } from './auth/jwt.ts';

export type Role = 'admin' | 'member' | 'viewer';

/** A person (JWT) or a runtime/script (API token, bound to one project). */
export type Principal =
  | { kind: 'user'; userId: string; role: Role; /** The login session (refresh family) of the access token. */ sid: string }
  | { kind: 'token'; tokenId: string; projectId: string };

/** A stored event as the live hub publishes it (to WebSocket clients and webhooks). */
export interface LiveEvent {
  id: string;
  projectId: string;
  agentId: string | null;
  type: string;
  time: string;
  payload: Record<string, unknown>;
}

/** `app.fanout` event: a credential or membership changed here; open sockets are checked now, not at the next poll. */
export const ACCESS_CHANGED = 'access-changed';

declare module 'fastify' {
  interface FastifyInstance {
    orm: Orm;
    accessTokens: AccessTokens;
    /** Signs access tokens and seals secrets stored in the database (webhook signing secrets). */
    serverKey: ServerKey;
    /** Emits 'event' (LiveEvent) for every event this instance stored (webhooks are queued from it). */
    live: EventEmitter;
    /**
     * What WebSocket clients see: 'event' (LiveEvent) for events stored by this or any other instance, 'dropped'
     * (reason) when the channel between instances reconnected and events may be missing, and ACCESS_CHANGED when
     * this instance revoked a token, a session or a membership (its sockets are checked again at once).
     */
    fanout: EventEmitter;
    /** The channel other instances' events arrive on (server/cluster/live-channel.ts). */
    liveChannel: import('./cluster/live-channel.ts').LiveChannel;
    /** preHandler: a valid JWT or API token is required; sets request.principal. */
    authenticate: (request: FastifyRequest) => Promise<void>;
    /** preHandler factory: a person with one of the roles (API tokens are refused). */
    requireRole: (...roles: Role[]) => (request: FastifyRequest) => Promise<void>;
    /** The project ids a principal may see, or 'all' for admins. */
    visibleProjects: (principal: Principal) => Promise<string[] | 'all'>;
    /** Throws 404 unless the principal may see the project (404, not 403: no probing for ids). */
    assertProject: (principal: Principal, projectId: string) => Promise<void>;
  }
  interface FastifyRequest {
    principal: Principal;
    em: EntityManager;
  }
}
