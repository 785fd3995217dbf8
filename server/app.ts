// Builds the server: Fastify with one encapsulated plugin per area, TypeBox schemas, one error shape, MikroORM.
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { IronError } from '../core/errors.ts';
import { assertSupportedNode } from '../core/node-version.ts';
import { checkServerEnv, envNumber } from './env.ts';
import { AccessTokens } from './auth/jwt.ts';
import { registerAuthentication } from './auth/authenticate.ts';
import { isSqlite, openDatabase, type Orm } from './db.ts';
import { HttpError } from './errors.ts';
import { databaseUnavailable } from './database-errors.ts';
import { ensureAdmin } from './auth/admin.ts';
import { loadServerKey, type ServerKey } from './auth/server-key.ts';
import { findTextProblem } from './text.ts';
import { sweepCounters } from './cluster/counters.ts';
import { createLiveChannel, databaseTag } from './cluster/live-channel.ts';
import agentsRoutes from './routes/agents.ts';
import alertsRoutes from './routes/alerts.ts';
import authRoutes from './routes/auth.ts';
import dashboardRoutes from './routes/dashboard.ts';
import healthRoutes from './routes/health.ts';
import ingestRoutes from './routes/ingest.ts';
import leasesRoutes from './routes/leases.ts';
import limitsRoutes from './routes/limits.ts';
import projectsRoutes from './routes/projects.ts';
import tokensRoutes from './routes/tokens.ts';
import tracesRoutes from './routes/traces.ts';
import usageRoutes from './routes/usage.ts';
import usersRoutes from './routes/users.ts';
import webhooksRoutes from './routes/webhooks.ts';
import wsRoutes, { CLOSE_RESTARTING, MAX_CLIENT_FRAME_BYTES } from './routes/ws.ts';

export interface ServerOptions {
  /** Database: a SQLite file path (default ./iron.db), `:memory:`, or a postgres:// URL. */
  db?: string;
  /** HS256 key for access tokens (IRON_JWT_SECRET); default: the key file (see auth/server-key.ts). */
  jwtSecret?: string;
  /** The server key's file; default IRON_KEY_FILE, else `<db>.key` beside a SQLite file. */
  keyFile?: string;
  /** First admin, created when no user exists. */
  admin?: { email: string; password: string };
  /** Fastify logger options (pino); false to silence. */
  logger?: FastifyServerOptions['logger'];
  /** Largest request body (bytes). Default 1 MiB. */
  bodyLimit?: number;
  /** Login attempts per minute per IP. Default IRON_LOGIN_RATE_LIMIT, else 10. */
  loginRateLimit?: number;
  /** The built dashboard served at /; default dist/dashboard of this package. */
  dashboardDir?: string;
  /** An open database to use instead of opening `db` (tests). */
  orm?: Orm;
  /** Redis for the live channel between instances and the login rate limit. Default IRON_REDIS_URL; optional. */
  redisUrl?: string;
}

/** Browsers authenticate WebSockets with `?token=`: request logs show the URL with any token redacted. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|refreshToken)=)[^&]*/gi, '$1[redacted]');
}

function withSafeSerializers(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (!logger) return logger;
  const base = typeof logger === 'object' ? logger : {};
  return {
    ...base,
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    serializers: {
      req: (request: { method: string; url: string; id?: string; ip?: string }) => ({ id: request.id, method: request.method, url: redactUrl(request.url), remoteAddress: request.ip }),
    },
  } as FastifyServerOptions['logger'];
}

function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const [status, reason, code, message] = tooLarge
    ? [431, 'Request Header Fields Too Large', 'IRON_HEADERS_TOO_LARGE', 'the request line and headers are over 16 KiB: send long values in the body']
    : [400, 'Bad Request', 'IRON_BAD_REQUEST', `malformed HTTP request (${error.code ?? 'unknown'})`];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** IRON_TRUST_PROXY as Fastify's trustProxy: unset → false; "true"/"1" → true; a number → hops; else addresses. */
export function trustProxyFrom(value: string | undefined): boolean | string | ((address: string, hop: number) => boolean) {
  if (!value || value === 'false' || /^0+$/.test(value)) return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return value.split(',').map((entry) => entry.trim()).join(',');
}

/**
 * What to say at start when IRON_TRUST_PROXY believes X-Forwarded-For from any address (true or a hop count): a client
 * that reaches an instance directly, not through the proxy, then picks its own address for the login limits.
 */
export function trustProxyWarning(value: string | undefined): string | undefined {
  if (!value || /^0+$/.test(value) || (value !== 'true' && !/^\d+$/.test(value))) return undefined;
  return `IRON_TRUST_PROXY=${value} believes X-Forwarded-For from any address: a client that reaches this server directly (not through the proxy) can pick the address the login limits count. Give the proxy's address or CIDR instead (e.g. IRON_TRUST_PROXY=10.0.0.2), or make sure only the proxy can reach this port`;
}

export async function buildApp(options: ServerOptions = {}): Promise<FastifyInstance> {
  assertSupportedNode();
  checkServerEnv();
  const orm = options.orm ?? (await openDatabase({ url: options.db ?? './iron.db' }));
  let key: ServerKey;
  try {
    key = await loadServerKey(orm, { db: options.db ?? './iron.db', ...(options.jwtSecret !== undefined ? { jwtSecret: options.jwtSecret } : {}), ...(options.keyFile ? { keyFile: options.keyFile } : {}) });
  } catch (error) {
    // A key file that cannot be read or made fails start-up; an open PostgreSQL pool would keep the process alive.
    if (!options.orm) await orm.close();
    throw error;
  }
  const app = Fastify({
    // Behind a reverse proxy: X-Forwarded-For/-Proto are believed from it only (IRON_TRUST_PROXY: its address or
    // CIDR list, a hop count, or true), so the per-address login limit sees clients, and the refresh cookie is Secure.
    trustProxy: trustProxyFrom(process.env.IRON_TRUST_PROXY),
    logger: withSafeSerializers(options.logger ?? false),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    genReqId: () => randomBytes(8).toString('hex'),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    // The router's own refusals (a malformed URL, a path parameter over its length) in the one error shape.
    frameworkErrors: (error, _request, reply) => {
      const status = (error as FastifyError).statusCode ?? 400;
      // The message quotes the URL: at most its start, so a 10 kB URL is not echoed back whole.
      const message = error.message.length > 300 ? `${error.message.slice(0, 300)}… (${error.message.length} characters)` : error.message;
      void (reply as unknown as FastifyReply).status(status).send({ error: { code: status === 414 ? 'IRON_URI_TOO_LONG' : 'IRON_BAD_REQUEST', message } });
    },
    // Requests Node's HTTP parser refuses before any route sees them (oversized headers or request line, malformed
    // HTTP) get the one error shape too.
    clientErrorHandler: answerClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const trustWarning = trustProxyWarning(process.env.IRON_TRUST_PROXY);
  if (trustWarning) app.log.warn(trustWarning);
  app.decorate('orm', orm);
  app.decorate('accessTokens', new AccessTokens(key.signingKey));
  app.decorate('serverKey', key);
  app.decorate('live', new EventEmitter().setMaxListeners(0));
  app.decorate('fanout', new EventEmitter().setMaxListeners(0));
  // Several instances on one PostgreSQL (or Redis): each one's stored events reach every instance's WebSockets.
  const redisUrl = options.redisUrl ?? (process.env.IRON_REDIS_URL || undefined);
  const channel = await createLiveChannel({ orm, live: app.live, fanout: app.fanout, db: options.orm && !options.db ? ':memory:' : (options.db ?? './iron.db'), ...(redisUrl ? { redisUrl } : {}), log: app.log });
  app.decorate('liveChannel', channel);
  app.addHook('onReady', async () => channel.start());
  // Forgotten rate-limit windows and login streaks: swept every 10 minutes (the tables stay small).
  const sweeper = setInterval(() => void sweepCounters(orm, Date.now() - 60 * 60 * 1000).catch((error: unknown) => app.log.warn({ err: error }, 'counter sweep failed')), 10 * 60 * 1000);
  sweeper.unref();
  app.decorateRequest('em', null as never);
  // API answers carry tokens, one-time secrets and private data: no browser or proxy may keep a copy.
  app.addHook('onSend', async (request, reply) => {
    if (request.url.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
  app.addHook('onRequest', async (request) => {
    request.em = orm.em.fork();
  });
  if (!options.orm) app.addHook('onClose', async () => orm.close());
  // Registered after the database's: runs before it (Fastify closes in reverse order).
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
    await channel.stop();
  });

  app.setErrorHandler((error: FastifyError | HttpError | IronError | Error, request, reply) => {
    if (error instanceof HttpError) return reply.status(error.statusCode).send({ error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } });
    if (error instanceof IronError) return reply.status(error.status).send({ error: error.toJSON() });
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) {
      const first = fastifyError.validation[0];
      const path = `${fastifyError.validationContext ?? 'body'}${first?.instancePath ?? ''}`;
      return reply.status(400).send({ error: { code: 'IRON_BAD_REQUEST', message: `${path}: ${first?.message ?? 'invalid'}`, details: { path, issues: fastifyError.validation.map((v) => ({ path: v.instancePath, message: v.message })) } } });
    }
    const status = fastifyError.statusCode ?? 500;
    const away = status >= 500 ? databaseUnavailable(error) : undefined;
    if (away) {
      // An outage, not a bug: 503 with Retry-After, which runtimes' outboxes and load balancers retry.
      request.log.warn({ err: error }, 'the database cannot answer');
      reply.header('retry-after', '5');
      return reply.status(503).send({ error: { code: 'IRON_DATABASE_UNAVAILABLE', message: `the server's database cannot answer now (${away}): try again shortly`, details: { requestId: request.id } } });
    }
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.status(500).send({ error: { code: 'IRON_INTERNAL', message: 'the server failed to handle this request; see its log for the request id', details: { requestId: request.id } } });
    }
    const code = status === 413 ? 'IRON_PAYLOAD_TOO_LARGE' : status === 429 ? 'IRON_RATE_LIMITED' : status === 404 ? 'IRON_NOT_FOUND' : 'IRON_BAD_REQUEST';
    return reply.status(status).send({ error: { code, message: error.message } });
  });
  // Ajv coerces "Infinity" to a number that then slips past integer checks into SQL: numeric query values must be
  // finite, safe numbers, whichever route's schema declares them.
  app.addHook('preValidation', async (request) => {
    // NUL characters and lone surrogates in a URL or a body: 400 naming the field (ingest checks each event itself,
    // so that one bad event does not refuse its batch).
    const text =
      findTextProblem(request.params, 'params') ?? findTextProblem(request.query, 'querystring') ?? (request.routeOptions.url === '/api/events' ? undefined : findTextProblem(request.body, 'body'));
    if (text) throw new HttpError(400, 'IRON_BAD_REQUEST', text, { path: text.slice(0, text.indexOf(':')) });
    const properties = (request.routeOptions.schema?.querystring as { properties?: Record<string, { type?: string }> } | undefined)?.properties;
    if (!properties) return;
    for (const [key, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
      const type = properties[key]?.type;
      if (type !== 'integer' && type !== 'number') continue;
      const n = Number(value);
      if (typeof value === 'string' && (!Number.isFinite(n) || Math.abs(n) > Number.MAX_SAFE_INTEGER)) {
        throw new HttpError(400, 'IRON_BAD_REQUEST', `querystring/${key}: must be a finite number, got ${JSON.stringify(value.slice(0, 40))}`, { path: `querystring/${key}` });
      }
    }
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send({ error: { code: 'IRON_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } }));

  await app.register(helmet, { contentSecurityPolicy: false });
  // Rate limits hold across instances when Redis is configured (every limit counted there). Without it, on
  // PostgreSQL the login limit is counted in the database (auth.ts) and the per-token ingest quota per instance.
  if (redisUrl) {
    const { Redis } = await import('ioredis');
    const redis = new Redis(redisUrl, { connectTimeout: 2_000, maxRetriesPerRequest: 1 });
    redis.on('error', (error) => app.log.warn({ err: error }, 'rate limit: Redis error'));
    app.addHook('onClose', async () => void redis.disconnect());
    await app.register(rateLimit, { global: false, redis, nameSpace: `iron-rl:${databaseTag(options.db ?? './iron.db')}:` });
  } else {
    await app.register(rateLimit, { global: false });
  }
  // Clients send only small JSON commands: a frame over 64 KiB closes the socket (ws's default would take 100 MiB).
  await app.register(websocket, {
    options: { maxPayload: MAX_CLIENT_FRAME_BYTES },
    // Shutting down (SIGTERM, a deploy): sockets close with 1012 "service restart", so clients reconnect at once —
    // to another instance behind the load balancer — rather than with a bare 1005.
    preClose(this: FastifyInstance, done: () => void) {
      for (const client of this.websocketServer.clients) client.close(CLOSE_RESTARTING, 'server restarting: reconnect');
      this.websocketServer.close(() => undefined);
      done();
    },
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Iron Cage server', version: '0.1.0', description: 'Control plane: auth, API tokens, projects, ingest, usage, limits, traces, live events.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  registerAuthentication(app);

  await app.register(healthRoutes);
  await app.register(authRoutes, { prefix: '/api/auth', loginRateLimit: options.loginRateLimit ?? envNumber('IRON_LOGIN_RATE_LIMIT') ?? 10, countInDatabase: !redisUrl && !isSqlite(orm.em) });
  await app.register(usersRoutes, { prefix: '/api/users' });
  await app.register(tokensRoutes, { prefix: '/api/tokens' });
  await app.register(projectsRoutes, { prefix: '/api/projects' });
  await app.register(ingestRoutes, { prefix: '/api' });
  await app.register(agentsRoutes, { prefix: '/api/agents' });
  await app.register(usageRoutes, { prefix: '/api/usage' });
  await app.register(limitsRoutes, { prefix: '/api/limits' });
  await app.register(leasesRoutes, { prefix: '/api/leases' });
  await app.register(tracesRoutes, { prefix: '/api/traces' });
  await app.register(webhooksRoutes, { prefix: '/api/webhooks' });
  await app.register(alertsRoutes, { prefix: '/api/alerts' });
  await app.register(wsRoutes);
  await app.register(dashboardRoutes, options.dashboardDir ? { dir: options.dashboardDir } : {});

  if (options.admin) await ensureAdmin(orm, options.admin.email, options.admin.password);
  return app;
}
