// Who is calling: a Bearer access token (JWT, a person) or an API token (`iron_pat_…`, a runtime), checked per request.
import type { EntityManager } from '@mikro-orm/core';
import type { Database, Statement } from 'better-sqlite3';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isSqlite } from '../db.ts';
import { Membership, Session, User } from '../entities/index.ts';
import { dialectOf, kysely, msOf, type ApiTokensTable } from '../ingest/db.ts';
import { nativeDatabase } from '../ingest/sqlite.ts';
import { forbidden, notFound, unauthorized } from '../errors.ts';
import type { Principal, Role } from '../context.ts';
import { hashToken } from './secrets.ts';

/**
 * The Authorization header's bearer token (the scheme in any case, as RFC 9110 allows). Never a `?token=` query
 * parameter: URLs end up in logs, histories and Referer headers; only /ws takes one (browsers cannot set headers on
 * a WebSocket), in its own handshake.
 */
function bearer(request: FastifyRequest): string | undefined {
  const match = /^bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

/**
 * Whether the API token is still neither revoked nor expired. A request authenticates when its headers arrive; one
 * whose body took long to come (a slow or held upload) is checked again before it writes, so a revocation in between
 * is not outrun.
 */
export async function apiTokenStillValid(request: FastifyRequest, tokenId: string): Promise<boolean> {
  const row = await kysely(request.em).selectFrom('api_tokens').select(['expires_at', 'revoked_at']).where('id', '=', tokenId).executeTakeFirst();
  if (!row || row.revoked_at !== null) return false;
  const expiresAt = msOf(row.expires_at);
  return expiresAt === null || expiresAt > Date.now();
}

type ApiTokenRow = Omit<ApiTokensTable, 'token_hash'>;

/** The API-token lookup, prepared once per SQLite database: Kysely compiles and better-sqlite3 prepares it per query. */
const tokenLookups = new WeakMap<Database, Statement<[string], ApiTokenRow>>();

/** The API token with this hash, read as it is committed now (revoked a moment ago: revoked here). */
async function apiTokenByHash(em: EntityManager, tokenHash: string): Promise<ApiTokenRow | undefined> {
  if (!isSqlite(em)) {
    return kysely(em).selectFrom('api_tokens').select(['id', 'project_id', 'expires_at', 'revoked_at', 'last_used_at']).where('token_hash', '=', tokenHash).executeTakeFirst();
  }
  const database = await nativeDatabase(em);
  let lookup = tokenLookups.get(database);
  if (!lookup) {
    lookup = database.prepare<[string], ApiTokenRow>('select "id", "project_id", "expires_at", "revoked_at", "last_used_at" from "api_tokens" where "token_hash" = ?');
    tokenLookups.set(database, lookup);
  }
  const statement = lookup;
  // Under Kysely's lock on the one connection, like its own queries: never read inside another request's open
  // transaction (whose uncommitted revocation could still roll back).
  return kysely(em).connection().execute(async () => statement.get(tokenHash));
}

/** The principal behind a token, or null. */
export async function principalFor(app: FastifyInstance, request: FastifyRequest, token: string): Promise<Principal | null> {
  if (token.startsWith('iron_pat_')) {
    // Read with one plain query, not through the entity manager: every ingest batch pays for this lookup.
    const db = kysely(request.em);
    const row = await apiTokenByHash(request.em, hashToken(token));
    const now = Date.now();
    if (!row || row.revoked_at !== null) return null;
    const expiresAt = msOf(row.expires_at);
    if (expiresAt !== null && expiresAt <= now) return null;
    // lastUsedAt is for people reading the token list: a minute's precision is plenty, and ingest stays write-light.
    const lastUsedAt = msOf(row.last_used_at);
    if (lastUsedAt === null || now - lastUsedAt > 60_000) {
      await db.updateTable('api_tokens').set({ last_used_at: dialectOf(request.em).time(now) }).where('id', '=', row.id).execute();
    }
    return { kind: 'token', tokenId: row.id, projectId: row.project_id };
  }
  const claims = await app.accessTokens.verify(token);
  if (!claims) return null;
  // A deleted user's access token stops working at once, and a changed role applies at once (not at expiry); so does
  // one whose login session ended (logout, a password change, a reused refresh token).
  const [user, live] = await Promise.all([
    request.em.findOne(User, { id: claims.sub }, { fields: ['id', 'role'] }),
    request.em.count(Session, { family: claims.sid, userId: claims.sub, revokedAt: null, expiresAt: { $gt: new Date() } }),
  ]);
  return user && live > 0 ? { kind: 'user', userId: user.id, role: user.role, sid: claims.sid } : null;
}

export function registerAuthentication(app: FastifyInstance): void {
  app.decorateRequest('principal', null as never);
  app.decorate('authenticate', async (request: FastifyRequest) => {
    const token = bearer(request);
    if (!token) throw unauthorized();
    const principal = await principalFor(app, request, token);
    if (!principal) throw unauthorized('the token is invalid, expired or revoked: log in again or use a current API token');
    request.principal = principal;
  });
  app.decorate('requireRole', (...roles: Role[]) => async (request: FastifyRequest) => {
    const principal = request.principal;
    if (principal.kind !== 'user') throw forbidden('this route is for people (log in); API tokens may only ingest and read their own project');
    if (!roles.includes(principal.role)) throw forbidden(`this needs the role ${roles.join(' or ')}; you are ${principal.role}`);
  });
  app.decorate('visibleProjects', async (principal: Principal): Promise<string[] | 'all'> => {
    if (principal.kind === 'token') return [principal.projectId];
    if (principal.role === 'admin') return 'all';
    const rows = await app.orm.em.fork().find(Membership, { userId: principal.userId });
    return rows.map((row) => row.projectId);
  });
  app.decorate('assertProject', async (principal: Principal, projectId: string) => {
    const visible = await app.visibleProjects(principal);
    if (visible !== 'all' && !visible.includes(projectId)) throw notFound(`project ${projectId}`);
  });
}
