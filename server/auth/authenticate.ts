// Who is calling: a Bearer access token (JWT, a person) or an API token (`iron_pat_…`, a runtime), checked per request.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiToken, Membership, User } from '../entities/index.ts';
import { forbidden, notFound, unauthorized } from '../errors.ts';
import type { Principal, Role } from '../context.ts';
import { hashToken } from './secrets.ts';

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  // Browsers cannot set headers on a WebSocket: the token may come as a query parameter there.
  const query = request.query as { token?: unknown } | undefined;
  return typeof query?.token === 'string' ? query.token : undefined;
}

/** The principal behind a token, or null. */
export async function principalFor(app: FastifyInstance, request: FastifyRequest, token: string): Promise<Principal | null> {
  if (token.startsWith('iron_pat_')) {
    const row = await request.em.findOne(ApiToken, { tokenHash: hashToken(token) });
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return null;
    // lastUsedAt is for people reading the token list: a minute's precision is plenty, and ingest stays write-light.
    if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
      row.lastUsedAt = new Date();
      await request.em.flush();
    }
    return { kind: 'token', tokenId: row.id, projectId: row.projectId };
  }
  const claims = await app.accessTokens.verify(token);
  if (!claims) return null;
  // A deleted user's access token stops working at once, and a changed role applies at once (not at expiry).
  const user = await request.em.findOne(User, { id: claims.sub }, { fields: ['id', 'role'] });
  return user ? { kind: 'user', userId: user.id, role: user.role } : null;
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
