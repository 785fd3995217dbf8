// Usage aggregates (every groupBy, filters, ranges, visibility) and limits (CRUD, validation, permissions, spentUsd) on each test database.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { LlmCall } from './entities/index.ts';
import { createApiToken, createProject, createUser, TEST_DATABASES, testApp } from './testing.ts';
import { periodStart } from './usage/spend.ts';

const DAY = 86_400_000;
const D0 = Date.parse('2026-03-10T00:00:00Z');
const MODELS = [
  { model: 'gpt-4o', provider: 'openai' },
  { model: 'claude-sonnet-4-6', provider: 'anthropic' },
];

interface Call {
  projectId: string;
  agentId: string;
  provider: string;
  model: string;
  status: 'ok' | 'failed';
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
  time: Date;
}

async function insertCalls(app: FastifyInstance, calls: Call[]): Promise<void> {
  const em = app.orm.em.fork();
  for (const call of calls) em.create(LlmCall, { id: randomUUID(), ...call });
  await em.flush();
}

type Figures = { calls: number; failedCalls: number; inputTokens: number; outputTokens: number; costUsd: number };

/** The expected answer, computed independently in JS from the fixture rows. */
function expected(calls: Call[], keyOf: (c: Call) => string): Map<string, Figures> {
  const micros = new Map<string, number>();
  const out = new Map<string, Figures>();
  for (const c of calls) {
    const key = keyOf(c);
    const f = out.get(key) ?? { calls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
    f.calls++;
    if (c.status === 'failed') f.failedCalls++;
    f.inputTokens += c.inputTokens;
    f.outputTokens += c.outputTokens;
    micros.set(key, (micros.get(key) ?? 0) + c.costMicros);
    f.costUsd = micros.get(key)! / 1e6;
    out.set(key, f);
  }
  return out;
}

describe.each(TEST_DATABASES)('usage and limits ($name)', (database) => {
  let app: FastifyInstance;
  let projectA: string;
  let projectB: string;
  let admin: string;
  const agentA = randomUUID();
  const agentB = randomUUID();
  let fixture: Call[];
  const range = `from=${new Date(D0).toISOString()}&to=${new Date(D0 + 3 * DAY).toISOString()}`;

  const get = async (url: string, authorization = admin) => app.inject({ method: 'GET', url, headers: { authorization } });

  beforeAll(async () => {
    app = await testApp(await database.url());
    projectA = await createProject(app, 'usage-a');
    projectB = await createProject(app, 'usage-b');
    admin = (await createUser(app, 'admin')).authorization;
    // 3 days × 2 projects × 2 models (one provider each), distinct values so every sum is checkable.
    fixture = [];
    for (let day = 0; day < 3; day++)
      for (const [p, projectId] of [projectA, projectB].entries())
        for (const [m, { model, provider }] of MODELS.entries())
          fixture.push({
            projectId,
            agentId: p === 0 ? agentA : agentB,
            provider,
            model,
            status: day === 2 && p === 1 && m === 1 ? 'failed' : 'ok',
            inputTokens: 100 * (day + 1) + m,
            outputTokens: 10 * (p + 1) + day,
            costMicros: 1_234 * (day + 1) * (p + 1) * (m + 3),
            time: new Date(D0 + day * DAY + (10 + m) * 3_600_000 + 59_000),
          });
    // Outside every explicit range: before it, and at its exclusive end.
    const outside = { ...fixture[0]!, time: new Date(D0 - 5 * DAY) };
    const atEnd = { ...fixture[0]!, time: new Date(D0 + 3 * DAY) };
    // Inside the default range (last 30 days).
    const recent = { ...fixture[0]!, costMicros: 42, time: new Date(Date.now() - 3 * 3_600_000) };
    await insertCalls(app, [...fixture, outside, atEnd, recent]);
  });
  afterAll(async () => app?.close());

  const dayKey = (c: Call) => new Date(Math.floor(c.time.getTime() / DAY) * DAY).toISOString();
  const hourKey = (c: Call) => new Date(Math.floor(c.time.getTime() / 3_600_000) * 3_600_000).toISOString();
  const keyFns: Record<string, (c: Call) => string> = {
    hour: hourKey,
    day: dayKey,
    model: (c) => c.model,
    agent: (c) => c.agentId,
    provider: (c) => c.provider,
    project: (c) => c.projectId,
  };

  it.each(Object.keys(keyFns))('aggregates exactly by %s, sorted', async (groupBy) => {
    const response = await get(`/api/usage/aggregate?${range}&groupBy=${groupBy}`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    const want = expected(fixture, keyFns[groupBy]!);
    expect(body.groupBy).toBe(groupBy);
    expect(body.from).toBe(new Date(D0).toISOString());
    expect(body.totals).toEqual(expected(fixture, () => 'all').get('all'));
    expect(body.totals).toEqual({ calls: 12, failedCalls: 1, inputTokens: 2_406, outputTokens: 192, costUsd: 0.155484 });
    expect(new Map(body.groups.map((g: { key: string } & Figures) => [g.key, { calls: g.calls, failedCalls: g.failedCalls, inputTokens: g.inputTokens, outputTokens: g.outputTokens, costUsd: g.costUsd }]))).toEqual(want);
    const keys = body.groups.map((g: { key: string }) => g.key);
    if (groupBy === 'hour' || groupBy === 'day') expect(keys).toEqual([...keys].sort());
    else expect(body.groups.map((g: Figures) => g.costUsd)).toEqual(body.groups.map((g: Figures) => g.costUsd).sort((a: number, b: number) => b - a));
  });

  it('hour and day keys are UTC bucket starts', async () => {
    const day = (await get(`/api/usage/aggregate?${range}&groupBy=day`)).json();
    expect(day.groups.map((g: { key: string }) => g.key)).toEqual(['2026-03-10T00:00:00.000Z', '2026-03-11T00:00:00.000Z', '2026-03-12T00:00:00.000Z']);
    const hour = (await get(`/api/usage/aggregate?${range}&groupBy=hour`)).json();
    expect(hour.groups.slice(0, 2).map((g: { key: string; calls: number }) => [g.key, g.calls])).toEqual([['2026-03-10T10:00:00.000Z', 2], ['2026-03-10T11:00:00.000Z', 2]]);
  });

  it('filters by project, agent, model and provider', async () => {
    const cases: Array<[string, (c: Call) => boolean]> = [
      [`projectId=${projectB}`, (c) => c.projectId === projectB],
      [`agentId=${agentA}`, (c) => c.agentId === agentA],
      ['model=gpt-4o', (c) => c.model === 'gpt-4o'],
      ['provider=anthropic', (c) => c.provider === 'anthropic'],
      [`projectId=${projectA}&model=claude-sonnet-4-6`, (c) => c.projectId === projectA && c.model === 'claude-sonnet-4-6'],
    ];
    for (const [query, keep] of cases) {
      const body = (await get(`/api/usage/aggregate?${range}&groupBy=model&${query}`)).json();
      expect(body.totals, query).toEqual(expected(fixture.filter(keep), () => 'all').get('all'));
    }
  });

  it('respects the time range: [from, to) and the 30-day default', async () => {
    const oneDay = (await get(`/api/usage/aggregate?from=2026-03-11&to=2026-03-12`)).json();
    expect(oneDay.totals).toEqual(expected(fixture.filter((c) => dayKey(c) === '2026-03-11T00:00:00.000Z'), () => 'all').get('all'));
    const byDefault = (await get('/api/usage/aggregate')).json();
    expect(byDefault.totals.calls).toBe(1);
    expect(byDefault.totals.costUsd).toBe(0.000042);
    expect(Date.parse(byDefault.to) - Date.parse(byDefault.from)).toBe(30 * DAY);
  });

  it('refuses bad ranges and parameters with a 400 naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['from=2026-03-12&to=2026-03-11', 'querystring/from'],
      ['from=2025-01-01&to=2026-03-01', 'querystring/to'],
      ['from=yesterday', 'querystring/from'],
      ['from=2026-03-11T10:00:00', 'querystring/from'],
      ['groupBy=week', 'querystring/groupBy'],
      ['projectId=nope', 'querystring/projectId'],
    ];
    for (const [query, field] of cases) {
      const response = await get(`/api/usage/aggregate?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.message, query).toContain(field);
    }
    expect((await get('/api/usage/aggregate?from=2025-02-01&to=2026-03-01')).statusCode).toBe(200);
  });

  it('needs authentication', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/usage/aggregate' })).statusCode).toBe(401);
  });

  it('shows a member only their projects', async () => {
    const member = (await createUser(app, 'member', [projectA])).authorization;
    const body = (await get(`/api/usage/aggregate?${range}&groupBy=project`, member)).json();
    expect(body.groups.map((g: { key: string }) => g.key)).toEqual([projectA]);
    expect(body.totals).toEqual(expected(fixture.filter((c) => c.projectId === projectA), () => 'all').get('all'));
    expect((await get(`/api/usage/by-project/${projectB}?${range}`, member)).statusCode).toBe(404);
    expect((await get(`/api/usage/aggregate?${range}&projectId=${projectB}`, member)).statusCode).toBe(404);
    const own = await get(`/api/usage/by-project/${projectA}?${range}`, member);
    expect(own.statusCode).toBe(200);
    expect(own.json().groupBy).toBe('day');
    expect(own.json().totals).toEqual(body.totals);
    // A member of nothing sees nothing (no error).
    const loner = (await createUser(app, 'viewer', [])).authorization;
    expect((await get(`/api/usage/aggregate?${range}`, loner)).json().totals.calls).toBe(0);
  });

  it('lets an API token read its own project only', async () => {
    const { token } = await createApiToken(app, projectB);
    const body = (await get(`/api/usage/aggregate?${range}&groupBy=project`, `Bearer ${token}`)).json();
    expect(body.groups.map((g: { key: string }) => g.key)).toEqual([projectB]);
    expect((await get(`/api/usage/by-project/${projectA}?${range}`, `Bearer ${token}`)).statusCode).toBe(404);
  });

  it('by-project 404s for an unknown project; by-provider filters by provider', async () => {
    expect((await get(`/api/usage/by-project/${randomUUID()}`)).statusCode).toBe(404);
    const body = (await get(`/api/usage/by-provider/openai?${range}`)).json();
    expect(body.groupBy).toBe('day');
    expect(body.totals).toEqual(expected(fixture.filter((c) => c.provider === 'openai'), () => 'all').get('all'));
    expect(body.groups).toHaveLength(3);
  });

  describe('limits', () => {
    const budget = (projectId: string, extra: Record<string, unknown> = {}) => ({ projectId, scope: 'project', target: '', kind: 'budget', amountUsd: 25, period: 'day', ...extra });
    const send = (method: 'POST' | 'PUT' | 'DELETE', url: string, payload: unknown, authorization = admin) => app.inject({ method, url, payload: payload as object, headers: { authorization } });

    it('creates, lists, reads, replaces and deletes a limit', async () => {
      const created = await send('POST', '/api/limits', budget(projectA));
      expect(created.statusCode).toBe(201);
      const limit = created.json();
      expect(limit).toMatchObject({ projectId: projectA, scope: 'project', target: '', kind: 'budget', amountUsd: 25, period: 'day', requestsPerMinute: null, spentUsd: expect.any(Number), enforced: true });
      expect(limit.periodStart).toBe(periodStart('day')!.toISOString());
      expect((await get('/api/limits')).json().limits.map((l: { id: string }) => l.id)).toContain(limit.id);
      expect((await get(`/api/limits/${limit.id}`)).json().id).toBe(limit.id);
      const replaced = await send('PUT', `/api/limits/${limit.id}`, { projectId: projectA, scope: 'model', target: 'gpt-*', kind: 'rate', requestsPerMinute: 60 });
      expect(replaced.statusCode).toBe(200);
      // Recorded and shown, but no runtime stops calls on it yet: the answer says so.
      expect(replaced.json()).toMatchObject({ scope: 'model', target: 'gpt-*', kind: 'rate', amountUsd: null, period: null, requestsPerMinute: 60, spentUsd: null, periodStart: null, enforced: false });
      expect((await send('DELETE', `/api/limits/${limit.id}`, undefined)).statusCode).toBe(204);
      expect((await get(`/api/limits/${limit.id}`)).statusCode).toBe(404);
      expect((await send('DELETE', `/api/limits/${limit.id}`, undefined)).statusCode).toBe(404);
    });

    it('refuses invalid limits with a 400 naming the field', async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [budget(projectA, { amountUsd: undefined }), 'amountUsd'],
        [budget(projectA, { amountUsd: 0 }), 'amountUsd'],
        [budget(projectA, { amountUsd: -5 }), 'amountUsd'],
        [budget(projectA, { period: undefined }), 'period'],
        [budget(projectA, { period: 'week' }), 'period'],
        [budget(projectA, { requestsPerMinute: 5 }), 'requestsPerMinute'],
        [{ projectId: projectA, scope: 'project', kind: 'rate' }, 'requestsPerMinute'],
        [{ projectId: projectA, scope: 'project', kind: 'rate', requestsPerMinute: 0 }, 'requestsPerMinute'],
        // Past PostgreSQL's integer column (2^31): was a 500 there.
        [{ projectId: projectA, scope: 'project', kind: 'rate', requestsPerMinute: 2 ** 31 }, 'requestsPerMinute'],
        [{ projectId: projectA, scope: 'project', kind: 'rate', requestsPerMinute: 10, amountUsd: 1 }, 'amountUsd'],
        [budget(projectA, { target: 'gpt-4o' }), 'target'],
        [budget(projectA, { scope: 'model', target: '' }), 'target'],
        [budget(projectA, { scope: 'provider' }), 'target'],
        [budget(projectA, { scope: 'agent', target: 'not-a-uuid' }), 'target'],
        [budget(projectA, { scope: 'team' }), 'scope'],
        [budget(projectA, { kind: 'quota' }), 'kind'],
        [budget('nope'), 'projectId'],
      ];
      for (const [payload, field] of cases) {
        const response = await send('POST', '/api/limits', payload);
        expect(response.statusCode, JSON.stringify(payload)).toBe(400);
        expect(response.json().error.message, JSON.stringify(payload)).toContain(field);
      }
      expect((await send('POST', '/api/limits', budget(randomUUID()))).statusCode).toBe(404);
    });

    it('lets members write their projects, viewers and tokens only read', async () => {
      const member = (await createUser(app, 'member', [projectA])).authorization;
      const viewer = (await createUser(app, 'viewer', [projectA])).authorization;
      const { token } = await createApiToken(app, projectA);
      const mine = await send('POST', '/api/limits', budget(projectA, { amountUsd: 3 }), member);
      expect(mine.statusCode).toBe(201);
      const theirs = (await send('POST', '/api/limits', budget(projectB))).json();
      expect((await send('POST', '/api/limits', budget(projectB), member)).statusCode).toBe(404);
      expect((await get(`/api/limits/${theirs.id}`, member)).statusCode).toBe(404);
      expect((await send('PUT', `/api/limits/${mine.json().id}`, budget(projectB), member)).statusCode).toBe(404);
      expect((await get('/api/limits', member)).json().limits.every((l: { projectId: string }) => l.projectId === projectA)).toBe(true);
      expect((await send('POST', '/api/limits', budget(projectA), viewer)).statusCode).toBe(403);
      expect((await send('DELETE', `/api/limits/${mine.json().id}`, undefined, viewer)).statusCode).toBe(403);
      expect((await get(`/api/limits/${mine.json().id}`, viewer)).statusCode).toBe(200);
      expect((await get(`/api/limits?projectId=${projectA}`, `Bearer ${token}`)).json().limits.map((l: { id: string }) => l.id)).toContain(mine.json().id);
      expect((await get(`/api/limits?projectId=${projectB}`, `Bearer ${token}`)).statusCode).toBe(404);
      expect((await send('POST', '/api/limits', budget(projectA), `Bearer ${token}`)).statusCode).toBe(403);
    });

    it('reports spentUsd for the current day, by scope and model glob', async () => {
      const project = await createProject(app);
      const agent = randomUUID();
      const today = periodStart('day')!;
      const base = { projectId: project, agentId: agent, status: 'ok' as const, inputTokens: 1, outputTokens: 1 };
      await insertCalls(app, [
        { ...base, provider: 'openai', model: 'gpt-4o', costMicros: 1_500_000, time: today },
        { ...base, provider: 'openai', model: 'gpt-4o-mini', costMicros: 250_000, time: new Date(Math.min(Date.now(), today.getTime() + 1_000)) },
        { ...base, provider: 'anthropic', model: 'claude-sonnet-4-6', costMicros: 2_000_000, time: today },
        // Yesterday: outside the daily period, inside 'total'.
        { ...base, provider: 'openai', model: 'gpt-4o', costMicros: 9_000_000, time: new Date(today.getTime() - 1) },
      ]);
      const spent = async (extra: Record<string, unknown>) => {
        const response = await send('POST', '/api/limits', budget(project, extra));
        expect(response.statusCode, response.body).toBe(201);
        return response.json().spentUsd;
      };
      expect(await spent({})).toBe(3.75);
      expect(await spent({ period: 'total' })).toBe(12.75);
      expect(await spent({ scope: 'provider', target: 'openai' })).toBe(1.75);
      expect(await spent({ scope: 'model', target: 'gpt-*' })).toBe(1.75);
      expect(await spent({ scope: 'model', target: 'gpt-4o' })).toBe(1.5);
      expect(await spent({ scope: 'agent', target: agent })).toBe(3.75);
      expect(await spent({ scope: 'agent', target: randomUUID() })).toBe(0);
      const listed = (await get(`/api/limits?projectId=${project}`)).json().limits;
      expect(listed.map((l: { spentUsd: number }) => l.spentUsd)).toEqual([3.75, 12.75, 1.75, 1.75, 1.5, 3.75, 0]);
    });
  });
});
