// Every route of the OpenAPI document, fed hostile values (seeded, bounded): no 5xx, and every error in the one shape
// `{ error: { code, message } }`. As an admin, as a member and as an API token, on SQLite and PostgreSQL.
// IRON_FUZZ_ROUNDS=55 for a longer run (default 11 per route and caller: each kind of trouble once).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../plugins/safety/eval/seeded-random.ts';
import { createApiToken, createProject, createUser, TEST_DATABASES, testApp } from './testing.ts';

const ROUNDS = Number(process.env.IRON_FUZZ_ROUNDS) > 0 ? Number(process.env.IRON_FUZZ_ROUNDS) : 11;

const HOSTILE_STRINGS = ['', ' ', 'a'.repeat(5000), '\u0000', 'x\u0000y', '\ud800', '💥'.repeat(50), "' or 1=1 --", '%00', '../../etc/passwd', '<script>', '1e308', 'Infinity', 'NaN', '-1', '0', 'null', 'true', '00000000-0000-4000-8000-000000000000', '2026-13-45T99:99:99Z', '9999-12-31T23:59:59Z', '0000-01-01T00:00:00Z'];
const HOSTILE_NUMBERS = [0, -1, 1e308, -1e308, 1.5, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, 1e-300];

function hostileValue(next: () => number, depth = 0): unknown {
  const pick = <T,>(items: T[]) => items[Math.floor(next() * items.length)]!;
  const kind = Math.floor(next() * (depth > 2 ? 4 : 7));
  if (kind === 0) return pick(HOSTILE_STRINGS);
  if (kind === 1) return pick(HOSTILE_NUMBERS);
  if (kind === 2) return pick([true, false, null]);
  if (kind === 3) return pick(HOSTILE_STRINGS) + pick(HOSTILE_STRINGS);
  if (kind === 4) return Array.from({ length: Math.floor(next() * 4) }, () => hostileValue(next, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [pick(['name', 'email', 'projectId', 'url', 'events', 'amountUsd', '__proto__', 'constructor', '\u0000']), hostileValue(next, depth + 1)]));
}

/** encodeURIComponent, with a lone surrogate sent as the bytes a client would send for it (it cannot encode one). */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

/** Each round leans on one kind of trouble, so every kind reaches every field of every route. */
const THEMES: unknown[] = ['\u0000', 'x\u0000y', 'lone \ud800', 1e308, 'Infinity', -1, '', 'a'.repeat(5000), {}, [], null];

interface PropertySchema {
  type?: string;
  format?: string;
  const?: unknown;
  anyOf?: PropertySchema[];
  items?: PropertySchema;
  properties?: Record<string, PropertySchema>;
}

/**
 * A value of the property's own type whose content is hostile (the round's theme where the type allows it), so the
 * request passes the schema and reaches the route's code; ids get a real one half the time.
 */
function typedValue(schema: PropertySchema, next: () => number, theme: unknown, realId: string, depth = 0): unknown {
  const options = schema.anyOf;
  if (options?.length) return typedValue(options[Math.floor(next() * options.length)]!, next, theme, realId, depth + 1);
  if ('const' in schema) return schema.const;
  switch (schema.type) {
    case 'string':
      if (schema.format === 'uuid') return next() < 0.5 ? realId : '00000000-0000-4000-8000-000000000000';
      if (schema.format === 'date-time') return next() < 0.5 ? new Date().toISOString() : '2000-01-01T00:00:00Z';
      if (schema.format === 'email') return `fuzz${Math.floor(next() * 1e6)}@example.com`;
      return typeof theme === 'string' ? `${theme}${next() < 0.5 ? 'x' : ''}` : String(HOSTILE_STRINGS[Math.floor(next() * HOSTILE_STRINGS.length)]);
    case 'integer':
      return typeof theme === 'number' && Number.isInteger(theme) ? theme : Math.floor(next() * 100);
    case 'number':
      return typeof theme === 'number' ? theme : next() * 100;
    case 'boolean':
      return next() < 0.5;
    case 'array':
      return depth > 3 || !schema.items ? [] : [typedValue(schema.items, next, theme, realId, depth + 1)];
    case 'object':
      return depth > 3 ? {} : Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, value]) => [key, typedValue(value, next, theme, realId, depth + 1)]));
    default:
      return theme;
  }
}

/** A body for the route: mostly well-typed with hostile content, sometimes hostile in every way. */
function hostileBody(schema: { properties?: Record<string, unknown> } | undefined, next: () => number, theme: unknown, realId: string): unknown {
  if (next() < 0.15) return hostileValue(next);
  const body: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(schema?.properties ?? {})) {
    const roll = next();
    if (roll < 0.75) body[key] = typedValue(property as PropertySchema, next, theme, realId);
    else if (roll < 0.9) body[key] = hostileValue(next);
  }
  return body;
}

describe.each(TEST_DATABASES)('fuzzing every route ($name)', (database) => {
  let app: FastifyInstance;
  const callers: Record<string, string> = {};
  let projectId: string;
  let routes: Array<{ method: string; path: string; body?: { properties?: Record<string, unknown> }; query: string[] }>;

  beforeAll(async () => {
    app = await testApp(await database.url());
    await app.ready();
    const project = await createProject(app);
    projectId = project;
    callers.admin = (await createUser(app, 'admin')).authorization;
    callers.member = (await createUser(app, 'member', [project])).authorization;
    callers.token = `Bearer ${(await createApiToken(app, project)).token}`;
    const doc = app.swagger() as { paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }>; requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } }>> };
    routes = Object.entries(doc.paths)
      // Logout ends the caller's session: it goes last, or every route after it would only see 401s.
      .sort(([a], [b]) => Number(a === '/api/auth/logout') - Number(b === '/api/auth/logout'))
      .flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        query: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        ...(operation.requestBody?.content?.['application/json']?.schema ? { body: operation.requestBody.content['application/json'].schema } : {}),
      })),
    );
  });
  afterAll(async () => app?.close());

  it('answers hostile input on every route without a 5xx, in the documented error shape', async () => {
    expect(routes.length).toBeGreaterThan(25);
    let requests = 0;
    let reached = 0;
    for (const [routeIndex, route] of routes.entries()) {
      for (const [callerIndex, [who, authorization]] of Object.entries(callers).entries()) {
        for (let round = 0; round < ROUNDS; round++) {
          const seed = routeIndex * 10_000 + callerIndex * 1000 + round;
          const next = seededRandom(seed);
          const pick = <T,>(items: T[]) => items[Math.floor(next() * items.length)]!;
          const theme = THEMES[round % THEMES.length];
          const url = route.path.replace(/\{[^}]+\}/g, () => encode(String(pick([...HOSTILE_STRINGS.slice(0, 12), projectId, typeof theme === 'string' ? theme : 'x']))));
          const query = route.query.filter(() => next() < 0.6).map((name) => `${name}=${encode(String(next() < 0.5 ? theme : hostileValue(next)))}`);
          const response = await app.inject({
            method: route.method as 'GET',
            url: `${url}${query.length ? `?${query.join('&')}` : ''}`,
            headers: { authorization, 'content-type': 'application/json' },
            ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: JSON.stringify(hostileBody(route.body, next, theme, projectId)) }),
          });
          requests++;
          if (response.statusCode !== 401) reached++;
          const context = `${route.method} ${route.path} as ${who}, seed ${seed}: ${response.statusCode} ${response.body.slice(0, 200)}`;
          expect(response.statusCode, context).toBeLessThan(500);
          if (response.statusCode >= 400) {
            const body = response.json() as { error?: { code?: unknown; message?: unknown } };
            expect(typeof body.error?.code, context).toBe('string');
            expect(typeof body.error?.message, context).toBe('string');
          }
        }
      }
    }
    expect(requests).toBe(routes.length * 3 * ROUNDS);
    // Most requests got past authentication to the routes' own checks (a fuzz that only meets 401s proves nothing).
    expect(reached / requests).toBeGreaterThan(0.6);
  }, 120_000);
});
