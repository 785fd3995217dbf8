// /api/auth: log in (rate-limited per address, failed logins slowed per account and address: see cluster/counters.ts),
// rotate refresh tokens (reuse revokes the family), log out, who am I.
//
// Browsers (the dashboard) ask for `cookie: true` at login: the refresh token then travels only in an HttpOnly,
// SameSite=Strict cookie scoped to /api/auth, so page scripts never hold it; the access token stays in memory.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { EntityManager } from '@mikro-orm/core';
import cookie from '@fastify/cookie';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Type } from 'typebox';
import { ACCESS_TOKEN_TTL_S } from '../auth/jwt.ts';
import { hashPassword, verifyPassword } from '../auth/passwords.ts';
import { hashToken, newToken } from '../auth/secrets.ts';
import { Session, User } from '../entities/index.ts';
import { HttpError, unauthorized } from '../errors.ts';
import { countHit, LoginStreaks } from '../cluster/counters.ts';
import { ACCESS_CHANGED, type Role } from '../context.ts';
import { RoleSchema, UserSchema, userView } from './users.ts';

export const REFRESH_TTL_MS = 30 * 24 * 60 * 60 * 1000;
export const REFRESH_COOKIE = 'iron_refresh';

const BAD_CREDENTIALS = 'wrong email or password';
const BAD_REFRESH = 'the refresh token is invalid, expired or revoked: log in again';

const TokensSchema = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.Optional(Type.String({ description: 'Absent when the login asked for the refresh cookie instead.' })),
  expiresIn: Type.Integer(),
  user: Type.Object({ id: Type.String(), email: Type.String(), role: RoleSchema }),
});
const RefreshBody = Type.Object(
  { refreshToken: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: `Default: the ${REFRESH_COOKIE} cookie.` })) },
  { additionalProperties: false },
);

function setRefreshCookie(request: FastifyRequest, reply: FastifyReply, refreshToken: string): void {
  reply.setCookie(REFRESH_COOKIE, refreshToken, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/api/auth',
    secure: request.protocol === 'https',
    maxAge: REFRESH_TTL_MS / 1000,
  });
}

function clearRefreshCookie(reply: FastifyReply): void {
  reply.clearCookie(REFRESH_COOKIE, { path: '/api/auth' });
}

// Unknown emails and locked accounts still pay for one scrypt, so response time does not tell them apart.
let dummyHash: Promise<string> | undefined;
const burnPasswordCheck = async (password: string) => {
  dummyHash ??= hashPassword(randomUUID());
  await verifyPassword(password, await dummyHash);
};

/** A new refresh token in `family` (a new family for a fresh login); only its hash is stored. */
function startSession(em: EntityManager, userId: string, family: string): string {
  const refreshToken = newToken('iron_rt_');
  // Sliding expiry: each rotation gives 30 more days, so only 30 idle days force a new login.
  em.create(Session, { id: randomUUID(), userId, family, tokenHash: hashToken(refreshToken), expiresAt: new Date(Date.now() + REFRESH_TTL_MS) });
  return refreshToken;
}

async function revokeFamily(em: EntityManager, fanout: EventEmitter, family: string): Promise<void> {
  const revoked = await em.nativeUpdate(Session, { family, revokedAt: null }, { revokedAt: new Date() });
  if (revoked > 0) fanout.emit(ACCESS_CHANGED);
}

const authRoutes: FastifyPluginAsync<{ loginRateLimit: number; countInDatabase?: boolean }> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  await app.register(cookie);
  const throttle = new LoginStreaks(fastify.orm);
  // Refresh and logout may come with no body at all (the cookie carries the token): that is an empty one.
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && request.body === undefined) request.body = {};
  });
  // Tokens travel in these answers: no cache (browser, proxy) may keep one.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  const issue = async (user: { id: string; email: string; role: Role }, refreshToken: string, sid: string) => ({
    accessToken: await app.accessTokens.sign({ sub: user.id, role: user.role, sid }),
    refreshToken,
    expiresIn: ACCESS_TOKEN_TTL_S,
    user: { id: user.id, email: user.email, role: user.role },
  });

  app.post(
    '/login',
    {
      // Per client address and minute. Several instances on one PostgreSQL count in the database (one limit for all);
      // otherwise the rate-limit plugin counts (in memory, or in Redis when IRON_REDIS_URL is set).
      ...(opts.countInDatabase
        ? {
            onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
              const now = Date.now();
              const { count, resetAt } = await countHit(fastify.orm, `login:${request.ip}`, 60_000, now);
              if (count <= opts.loginRateLimit) return;
              const seconds = Math.max(1, Math.ceil((resetAt - now) / 1000));
              reply.header('retry-after', String(seconds));
              throw new HttpError(429, 'IRON_RATE_LIMITED', `too many login attempts from this address: at most ${opts.loginRateLimit} a minute; retry in ${seconds} s`);
            },
          }
        : { config: { rateLimit: { max: opts.loginRateLimit, timeWindow: '1 minute' } } }),
      schema: {
        security: [],
        body: Type.Object(
          {
            email: Type.String({ minLength: 1, maxLength: 320 }),
            password: Type.String({ minLength: 1, maxLength: 1024 }),
            cookie: Type.Optional(Type.Boolean({ description: `Send the refresh token as an HttpOnly ${REFRESH_COOKIE} cookie instead of in the body (browsers).` })),
          },
          { additionalProperties: false },
        ),
        response: { 200: TokensSchema },
      },
    },
    async (request, reply) => {
      const em = request.em;
      const key = LoginStreaks.key(request.body.email, request.ip);
      const attempt = await throttle.admit(key);
      if (!attempt.admitted) {
        const seconds = Math.ceil(attempt.waitMs / 1000);
        reply.header('retry-after', String(seconds));
        throw new HttpError(429, 'IRON_RATE_LIMITED', `too many failed logins for this account from this address: try again in ${seconds} s`);
      }
      const user = await em.findOne(User, { email: request.body.email.toLowerCase() });
      if (!user) {
        await burnPasswordCheck(request.body.password);
        throw unauthorized(BAD_CREDENTIALS);
      }
      if (!(await verifyPassword(request.body.password, user.passwordHash))) {
        throw unauthorized(BAD_CREDENTIALS);
      }
      await throttle.succeeded(key);
      const family = randomUUID();
      const refreshToken = startSession(em, user.id, family);
      await em.flush();
      if (!request.body.cookie) return issue(user, refreshToken, family);
      setRefreshCookie(request, reply, refreshToken);
      return { ...(await issue(user, refreshToken, family)), refreshToken: undefined };
    },
  );

  app.post('/refresh', { schema: { security: [], body: Type.Optional(RefreshBody), response: { 200: TokensSchema } } }, async (request, reply) => {
    const em = request.em;
    const fromCookie = !request.body?.refreshToken;
    const presented = request.body?.refreshToken ?? request.cookies[REFRESH_COOKIE];
    if (!presented) throw unauthorized(`send a refreshToken in the body or the ${REFRESH_COOKIE} cookie`);
    const session = await em.findOne(Session, { tokenHash: hashToken(presented) });
    if (!session) {
      if (fromCookie) clearRefreshCookie(reply);
      throw unauthorized(BAD_REFRESH);
    }
    if (session.rotatedAt || session.revokedAt) {
      // A used token came back: either it was stolen or the thief already used it. Kill the whole login.
      await revokeFamily(em, fastify.fanout, session.family);
      throw unauthorized(BAD_REFRESH);
    }
    if (session.expiresAt.getTime() <= Date.now()) throw unauthorized(BAD_REFRESH);
    // Conditional update inside a transaction: of two concurrent refreshes with one token only one wins, and the
    // winner holds the row lock until its new session is committed, so the loser's family revocation (after its
    // update found nothing) also covers that new session.
    const rotated = await em.transactional(async (tx) => {
      const won = await tx.nativeUpdate(Session, { id: session.id, rotatedAt: null, revokedAt: null }, { rotatedAt: new Date() });
      if (won !== 1) return 'reused' as const;
      // The role is read again, so a role change takes effect at the next refresh.
      const user = await tx.findOne(User, { id: session.userId });
      if (!user) return 'no user' as const;
      return { user, refreshToken: startSession(tx, user.id, session.family) };
    });
    if (typeof rotated === 'string') {
      await revokeFamily(em, fastify.fanout, session.family);
      throw unauthorized(BAD_REFRESH);
    }
    const { user, refreshToken } = rotated;
    if (!fromCookie) return issue(user, refreshToken, session.family);
    setRefreshCookie(request, reply, refreshToken);
    return { ...(await issue(user, refreshToken, session.family)), refreshToken: undefined };
  });

  app.post(
    '/logout',
    { onRequest: [app.authenticate, app.requireRole('admin', 'member', 'viewer')], schema: { body: Type.Optional(RefreshBody) } },
    async (request, reply) => {
      const presented = request.body?.refreshToken ?? request.cookies[REFRESH_COOKIE];
      clearRefreshCookie(reply);
      const principal = request.principal;
      // The session of the access token used ends too: logging out ends its access tokens, not only the refresh.
      if (principal.kind === 'user') await revokeFamily(request.em, fastify.fanout, principal.sid);
      if (!presented) return reply.status(204).send();
      const session = await request.em.findOne(Session, { tokenHash: hashToken(presented) });
      // Only your own sessions; an unknown or foreign token gets the same 204, so logout cannot probe tokens.
      if (session && principal.kind === 'user' && session.userId === principal.userId) await revokeFamily(request.em, fastify.fanout, session.family);
      return reply.status(204).send();
    },
  );

  // Public by design, for the login page of a new server: whether anyone can sign in yet (nothing more is told).
  app.get('/setup', { schema: { security: [], response: { 200: Type.Object({ needsAdmin: Type.Boolean() }) } } }, async (request) => ({
    needsAdmin: (await request.em.count(User, {})) === 0,
  }));

  app.get('/me', { onRequest: [app.authenticate, app.requireRole('admin', 'member', 'viewer')], schema: { response: { 200: UserSchema } } }, async (request) => {
    const principal = request.principal;
    const user = principal.kind === 'user' ? await request.em.findOne(User, { id: principal.userId }) : null;
    // A deleted user's access token may still verify for a few minutes; it must not describe a ghost.
    if (!user) throw unauthorized();
    return userView(request.em, user);
  });
};
export default authRoutes;
