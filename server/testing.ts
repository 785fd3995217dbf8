// Test set-up for the server: a fresh SQLite file per app, or a fresh PostgreSQL schema when IRON_TEST_PG_URL is set.
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { buildApp, type ServerOptions } from './app.ts';
import { hashPassword } from './auth/passwords.ts';
import { hashToken, newToken } from './auth/secrets.ts';
import { ApiToken, Membership, Project, Session, User } from './entities/index.ts';

export const ADMIN = { email: 'admin@example.com', password: 'correct horse battery' };

/** The databases server tests run against: always a SQLite file; PostgreSQL too when IRON_TEST_PG_URL is set. */
export const TEST_DATABASES: Array<{ name: string; url: () => Promise<string> }> = [
  { name: 'sqlite', url: async () => join(mkdtempSync(join(tmpdir(), 'iron-server-')), 'iron.db') },
  ...(process.env.IRON_TEST_PG_URL ? [{ name: 'postgresql', url: async () => freshPostgres(process.env.IRON_TEST_PG_URL!) }] : []),
];

/**
 * A fresh schema per app, selected through the connection's search_path: test files run in parallel against one
 * PostgreSQL database without seeing each other's tables.
 */
async function freshPostgres(url: string): Promise<string> {
  const { default: pg } = await import('pg');
  // The creation time is in the name: schemas left by earlier runs (over an hour old) are dropped here, since a
  // test may reopen its schema after closing an app (a restart), so none is dropped on close.
  const now = Math.floor(Date.now() / 1000);
  const schema = `iron_test_${now}_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const stale = await client.query<{ name: string }>(`select schema_name as name from information_schema.schemata where schema_name like 'iron\\_test\\_%'`);
  for (const { name } of stale.rows) {
    const created = Number(/^iron_test_(\d+)_/.exec(name)?.[1] ?? 0);
    if (created < now - 3600) await client.query(`drop schema if exists ${name} cascade`);
  }
  await client.query(`create schema ${schema}`);
  await client.end();
  const separator = url.includes('?') ? '&' : '?';
  return `${url}${separator}schema=${schema}`;
}

export async function testApp(url: string, options: ServerOptions = {}): Promise<FastifyInstance> {
  return buildApp({ db: url, admin: ADMIN, logger: false, ...options });
}

/** Logs in and returns the Authorization header value. */
export async function login(app: FastifyInstance, email = ADMIN.email, password = ADMIN.password): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } });
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  return `Bearer ${response.json().accessToken}`;
}

/** Fixtures written straight to the database, so each area's tests do not depend on another area's routes. */
export async function createProject(app: FastifyInstance, name = `project-${randomUUID().slice(0, 8)}`): Promise<string> {
  const em = app.orm.em.fork();
  const project = em.create(Project, { id: randomUUID(), name });
  await em.flush();
  return project.id;
}

/** An API token for a project: returns the clear token (`iron_pat_…`) and its row id. */
export async function createApiToken(app: FastifyInstance, projectId: string, options: { expiresAt?: Date } = {}): Promise<{ token: string; id: string }> {
  const em = app.orm.em.fork();
  const token = newToken('iron_pat_');
  const row = em.create(ApiToken, { id: randomUUID(), name: 'test', projectId, tokenHash: hashToken(token), prefix: token.slice(0, 13), expiresAt: options.expiresAt ?? null });
  await em.flush();
  return { token, id: row.id };
}

/** A user with a role and the projects they belong to; returns the Authorization header after logging in. */
export async function createUser(app: FastifyInstance, role: 'admin' | 'member' | 'viewer', projectIds: string[] = []): Promise<{ id: string; email: string; sid: string; authorization: string }> {
  const em = app.orm.em.fork();
  const email = `${role}-${randomUUID().slice(0, 8)}@example.com`;
  const user = em.create(User, { id: randomUUID(), email, passwordHash: await hashPassword('a long enough password'), role });
  for (const projectId of projectIds) em.create(Membership, { id: randomUUID(), userId: user.id, projectId });
  // A login session of its own (access tokens belong to one), made directly so other areas' tests do not depend on
  // the login route.
  const sid = randomUUID();
  em.create(Session, { id: randomUUID(), userId: user.id, family: sid, tokenHash: hashToken(newToken('iron_rt_')), expiresAt: new Date(Date.now() + 86_400_000) });
  await em.flush();
  return { id: user.id, email, sid, authorization: `Bearer ${await app.accessTokens.sign({ sub: user.id, role, sid })}` };
}

/** Keeps every response body, so a test can check that no secret ever left the server. */
export function recordBodies(app: FastifyInstance, bodies: string[]): void {
  const inject = app.inject.bind(app) as (options: InjectOptions | string) => Promise<LightMyRequestResponse>;
  (app as unknown as { inject: typeof inject }).inject = async (options) => {
    const response = await inject(options);
    bodies.push(response.body);
    return response;
  };
}
