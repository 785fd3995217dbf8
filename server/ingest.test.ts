// Ingest, agents and traces against every test database: exact projections, idempotency, out-of-order events,
// who may ingest and read, schema errors, live publication, and one request over real HTTP.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LiveEvent } from './context.ts';
import { ApiToken } from './entities/index.ts';
import { kysely } from './ingest/db.ts';
import { createApiToken, createProject, createUser, TEST_DATABASES, testApp } from './testing.ts';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');

/** One agent's run as a runtime reports it: start, two calls (one failed), cost and PII, stop. */
function run(agentId = randomUUID()) {
  const c1 = `call-${randomUUID()}`;
  const c2 = `call-${randomUUID()}`;
  const ev = (type: string, offset: number, fields: Record<string, unknown>) => ({ id: randomUUID(), type, time: T0 + offset, agentId, ...fields });
  const events = [
    ev('AgentStarted', 0, { name: 'summariser', kind: 'in-process' }),
    ev('LlmCallCompleted', 1000, { callId: c1, provider: 'openai', model: 'gpt-4o-mini', stream: true, usage: { inputTokens: 1200, outputTokens: 300, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, latencyMs: 850, complete: true }),
    ev('CostUpdate', 1001, { callId: c1, provider: 'openai', model: 'gpt-4o-mini', costUsd: 0.000_36, usage: {}, estimated: false, priced: true, agentSpentUsd: 0.00036, agentLimitUsd: null, totalSpentUsd: 0.00036 }),
    ev('PiiAlert', 1002, { callId: c1, direction: 'request', entityType: 'EMAIL', count: 2, action: 'redact', valueHashes: ['a', 'b'] }),
    ev('PiiAlert', 1003, { callId: c1, direction: 'response', entityType: 'PHONE', count: 1, action: 'redact', valueHashes: ['c'] }),
    ev('CallRetried', 1500, { callId: c2, provider: 'anthropic', model: 'claude-haiku', attempt: 1, delayMs: 100, reason: '529' }),
    ev('LlmCallFailed', 2000, { callId: c2, provider: 'anthropic', model: 'claude-haiku', stream: false, latencyMs: 400, error: { code: 'IRON_PROVIDER_ERROR', message: 'overloaded', status: 529 } }),
    ev('AgentStopped', 3000, { status: 'completed', exitCode: 0 }),
  ];
  return { agentId, c1, c2, events };
}

describe.each(TEST_DATABASES)('ingest, agents and traces ($name)', ({ url }) => {
  let app: FastifyInstance;
  let projectId: string;
  let token: string;
  const post = (events: unknown[], authorization = `Bearer ${token}`) => app.inject({ method: 'POST', url: '/api/events', headers: { authorization }, payload: { events } });

  beforeEach(async () => {
    app = await testApp(await url());
    projectId = await createProject(app);
    token = (await createApiToken(app, projectId)).token;
  });
  afterEach(async () => app.close());

  it('projects an agent run exactly: lifecycle, calls, cost, PII', async () => {
    const { agentId, c1, c2, events } = run();
    const response = await post(events);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ accepted: 8, duplicates: 0, rejected: [] });

    const admin = await createUser(app, 'admin');
    const agent = (await app.inject({ url: `/api/agents/${agentId}`, headers: { authorization: admin.authorization } })).json();
    expect(agent).toEqual({
      id: agentId, projectId, name: 'summariser', kind: 'in-process', status: 'completed',
      startedAt: new Date(T0).toISOString(), stoppedAt: new Date(T0 + 3000).toISOString(), lastEventAt: new Date(T0 + 3000).toISOString(),
      calls: 2, failedCalls: 1, inputTokens: 1200, outputTokens: 300, tokens: 1500, costUsd: 0.00036, piiDetections: 3,
    });

    const trace = (await app.inject({ url: `/api/traces/${agentId}`, headers: { authorization: admin.authorization } })).json();
    // It completed, one of its calls failed: the run is ok, its failed call counted apart.
    expect(trace.run).toMatchObject({ outcome: 'ok', failedCalls: 1 });
    expect(trace.calls).toEqual([
      { id: c1, provider: 'openai', model: 'gpt-4o-mini', status: 'ok', stream: true, inputTokens: 1200, outputTokens: 300, costUsd: 0.00036, unpriced: false, latencyMs: 850, piiDetections: 3, errorCode: null, time: new Date(T0 + 1000).toISOString() },
      // No cost was recorded for the failed call: null, not $0.
      { id: c2, provider: 'anthropic', model: 'claude-haiku', status: 'failed', stream: false, inputTokens: 0, outputTokens: 0, costUsd: null, unpriced: false, latencyMs: 400, piiDetections: 0, errorCode: 'IRON_PROVIDER_ERROR', time: new Date(T0 + 2000).toISOString() },
    ]);
    expect(trace.events.map((e: { type: string }) => e.type)).toEqual(events.map((e) => e.type));
    expect(trace.events[0].payload).toMatchObject({ name: 'summariser', kind: 'in-process' });
  });

  it('is idempotent: the same batch twice is all duplicates and changes nothing', async () => {
    const { agentId, events } = run();
    expect((await post(events)).json()).toEqual({ accepted: 8, duplicates: 0, rejected: [] });
    expect((await post(events)).json()).toEqual({ accepted: 0, duplicates: 8, rejected: [] });
    // Repeats inside one batch count as duplicates too.
    expect((await post([events[0], events[0]])).json()).toEqual({ accepted: 0, duplicates: 2, rejected: [] });
    const admin = await createUser(app, 'admin');
    const agent = (await app.inject({ url: `/api/agents/${agentId}`, headers: { authorization: admin.authorization } })).json();
    expect(agent).toMatchObject({ calls: 2, failedCalls: 1, tokens: 1500, costUsd: 0.00036, piiDetections: 3 });
  });

  it('counts and projects a large batch exactly when some of its events are already stored', async () => {
    // 37 runs of 8 events (296, written in statements of 100, 10 and 1 rows on SQLite); every third run was sent before.
    const runs = Array.from({ length: 37 }, () => run());
    const earlier = runs.filter((_, i) => i % 3 === 0).flatMap((r) => r.events);
    expect((await post(earlier)).json()).toEqual({ accepted: 13 * 8, duplicates: 0, rejected: [] });
    const all = runs.flatMap((r) => r.events);
    expect((await post(all)).json()).toEqual({ accepted: 24 * 8, duplicates: 13 * 8, rejected: [] });
    const admin = await createUser(app, 'admin');
    const usage = (await app.inject({ url: `/api/usage/aggregate?groupBy=project&from=${new Date(T0 - 3_600_000).toISOString()}&to=${new Date(T0 + 3_600_000).toISOString()}`, headers: { authorization: admin.authorization } })).json();
    expect(usage.totals).toMatchObject({ calls: 74, failedCalls: 37, inputTokens: 37 * 1200, outputTokens: 37 * 300 });
    for (const { agentId } of [runs[0]!, runs[1]!, runs[36]!]) {
      const agent = (await app.inject({ url: `/api/agents/${agentId}`, headers: { authorization: admin.authorization } })).json();
      expect(agent).toMatchObject({ status: 'completed', calls: 2, failedCalls: 1, tokens: 1500, costUsd: 0.00036, piiDetections: 3 });
    }
  });

  it('accepts one call split across two batches in reverse order, and an agent known before it started', async () => {
    const { agentId, c1, events } = run();
    // Second half first: cost, PII, failure and stop arrive before the start and the completion.
    const [started, completed, ...rest] = events;
    expect((await post(rest.reverse())).json()).toEqual({ accepted: 6, duplicates: 0, rejected: [] });
    const admin = await createUser(app, 'admin');
    const early = (await app.inject({ url: `/api/agents/${agentId}`, headers: { authorization: admin.authorization } })).json();
    expect(early).toMatchObject({ name: agentId, kind: 'unknown', status: 'completed', calls: 1, costUsd: 0.00036, piiDetections: 3 });
    expect((await post([completed, started])).json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    const agent = (await app.inject({ url: `/api/agents/${agentId}`, headers: { authorization: admin.authorization } })).json();
    expect(agent).toMatchObject({ name: 'summariser', kind: 'in-process', status: 'completed', startedAt: new Date(T0).toISOString(), stoppedAt: new Date(T0 + 3000).toISOString(), calls: 2, failedCalls: 1, tokens: 1500, costUsd: 0.00036, piiDetections: 3 });
    const trace = (await app.inject({ url: `/api/traces/${agentId}`, headers: { authorization: admin.authorization } })).json();
    expect(trace.calls[0]).toMatchObject({ id: c1, model: 'gpt-4o-mini', status: 'ok', inputTokens: 1200, costUsd: 0.00036, piiDetections: 3, latencyMs: 850, time: new Date(T0 + 1000).toISOString() });
  });

  it('ingest is for API tokens: 401 without a token, 403 with a person’s JWT', async () => {
    const { events } = run();
    const none = await app.inject({ method: 'POST', url: '/api/events', payload: { events } });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('IRON_UNAUTHORIZED');
    const admin = await createUser(app, 'admin');
    const person = await post(events, admin.authorization);
    expect(person.statusCode).toBe(403);
    expect(person.json().error.code).toBe('IRON_FORBIDDEN');
    expect((await post(events, 'Bearer iron_pat_nope')).statusCode).toBe(401);
  });

  it('refuses bad batches with 400 and the field path', async () => {
    const tooMany = await post(Array.from({ length: 1001 }, () => ({ id: randomUUID(), type: 'X', time: T0 })));
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.details.path).toBe('body/events');
    expect((await post([])).statusCode).toBe(400);
    // A batch none of whose events can be stored: 400, each event's reason listed.
    const missingId = await post([{ type: 'AgentStarted', time: T0 }]);
    expect(missingId.statusCode).toBe(400);
    expect(missingId.json().error).toMatchObject({ code: 'IRON_BAD_REQUEST', details: { path: 'body/events', rejected: [{ index: 0, message: 'body/events/0/id: must be a string of 1 to 200 characters' }] } });
    const badAgent = await post([{ id: randomUUID(), type: 'X', time: T0, agentId: 'not-a-uuid' }]);
    expect(badAgent.json().error.details.rejected[0].message).toBe('body/events/0/agentId: must be a UUID');
    const badTime = await post([{ id: randomUUID(), type: 'X', time: 'yesterday' }]);
    expect(badTime.statusCode).toBe(400);
    expect(badTime.json().error.details.rejected[0].message).toMatch(/^body\/events\/0\/time/);
    // 1,000 is fine, ISO times too.
    const full = await post(Array.from({ length: 1000 }, (_, i) => ({ id: randomUUID(), type: 'Tick', time: new Date(T0 + i).toISOString() })));
    expect(full.json()).toEqual({ accepted: 1000, duplicates: 0, rejected: [] });
  });

  it('rejects a non-object item alone, and counts an id repeated within one batch as a duplicate (PostgreSQL answered 500)', async () => {
    const good = { id: randomUUID(), type: 'Tick', time: T0 };
    const mixed = await post([5, good, null, ['x']]);
    expect(mixed.statusCode, mixed.body).toBe(200);
    expect(mixed.json()).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: [
        { index: 0, id: '', message: 'body/events/0: must be an object (an event), got number' },
        { index: 2, id: '', message: 'body/events/2: must be an object (an event), got null' },
        { index: 3, id: '', message: 'body/events/3: must be an object (an event), got a list' },
      ],
    });
    const twice = { id: randomUUID(), type: 'Tick', time: T0 };
    const repeated = await post([twice, twice]);
    expect(repeated.statusCode, repeated.body).toBe(200);
    expect(repeated.json()).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
  });

  it('rejects only the events no page could show, and stores the rest of their batch', async () => {
    const { events } = run();
    const agentId = events[0]!.agentId as string;
    const hostile = [
      { id: randomUUID(), type: 'CostUpdate', time: T0 + 10, agentId, callId: randomUUID(), costUsd: 1e308 },
      { id: randomUUID(), type: 'AgentStarted', time: Date.parse('+010000-01-01T00:00:00Z'), agentId, name: 'far future' },
      { id: randomUUID(), type: 'AgentStarted', time: '0001-01-01T00:00:00Z', agentId, name: 'year one' },
      { id: randomUUID(), type: 'AgentStarted', time: T0, agentId, name: 'nul\u0000byte' },
      { id: randomUUID(), type: 'AgentStarted', time: T0, agentId, name: 'lone \ud800 surrogate' },
      { id: randomUUID(), type: 'LlmCallCompleted', time: T0, agentId, callId: randomUUID(), latencyMs: 1e300 },
      // The review's 8 MB alert: any event over 32 Ki characters of text.
      { id: randomUUID(), type: 'PiiAlert', time: T0, agentId, entityType: 'EMAIL_ADDRESS', note: 'x'.repeat(40_000) },
      { id: randomUUID(), type: 'PiiAlert', time: T0, agentId, entityType: 'EMAIL_ADDRESS', parts: Array.from({ length: 2_000 }, () => 'y'.repeat(20)) },
      // Impossible figures a page would quietly skip: a negative cost, a cost as a string, a fractional token count.
      { id: randomUUID(), type: 'CostUpdate', time: T0 + 11, agentId, callId: randomUUID(), costUsd: -1e308 },
      { id: randomUUID(), type: 'CostUpdate', time: T0 + 12, agentId, callId: randomUUID(), costUsd: '0.5' },
      { id: randomUUID(), type: 'LlmCallCompleted', time: T0, agentId, callId: randomUUID(), usage: { inputTokens: 1.5, outputTokens: 1 } },
      { id: randomUUID(), type: 'CostUpdate', time: T0 + 13, agentId, callId: randomUUID(), costUsd: [5] },
      { id: randomUUID(), type: 'CostUpdate', time: T0 + 14, agentId, callId: randomUUID(), costUsd: null },
      { id: randomUUID(), type: 'CostUpdate', time: T0 + 15, agentId, callId: randomUUID() },
      { id: randomUUID(), type: 'LlmCallCompleted', time: T0, agentId, callId: randomUUID(), usage: { inputTokens: true, outputTokens: 1 } },
    ];
    const mixed = [...events.slice(0, 4), ...hostile, ...events.slice(4)];
    const response = await post(mixed);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.accepted).toBe(events.length);
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
    expect(body.rejected.map((r: { message: string }) => r.message)).toEqual([
      'body/events/4/costUsd: 1e+308 is more than 1000000000 USD',
      expect.stringMatching(/^body\/events\/5\/time: .* is more than a day ahead of the server's clock$/),
      'body/events/6/time: 0001-01-01T00:00:00.000Z is before 2000-01-01',
      'body/events/7/name: contains a NUL character',
      'body/events/8/name: contains a lone UTF-16 surrogate',
      'body/events/9/latencyMs: 1e+300 is out of range (0 to 1000000000000)',
      expect.stringMatching(/^body\/events\/10\/event: holds more than 32768 characters of text/),
      expect.stringMatching(/^body\/events\/11\/event: holds more than 32768 characters of text/),
      'body/events/12/costUsd: -1e+308 is negative: an amount of USD is 0 or more',
      'body/events/13/costUsd: must be a number, got the string "0.5"',
      'body/events/14/usage.inputTokens: 1.5 is not a whole number',
      'body/events/15/costUsd: must be a number, got a list',
      'body/events/16/costUsd: a CostUpdate carries its cost as a number of USD, got null',
      'body/events/17/costUsd: a CostUpdate carries its cost as a number of USD, got none',
      'body/events/18/usage.inputTokens: must be a number, got true',
    ]);
    // What runtimes really send stays accepted: a warning at 0.5 % and a fractional latency are not counts.
    const real = await post([
      { id: randomUUID(), type: 'BudgetWarning', time: T0 + 20, agentId, scope: 'agent', name: agentId, thresholdPct: 0.5, spentUsd: 0.000005, limitUsd: 0.001 },
      { id: randomUUID(), type: 'LlmCallCompleted', time: T0 + 21, agentId, callId: randomUUID(), latencyMs: 12.75, usage: { inputTokens: 3, outputTokens: 0 } },
    ]);
    expect(real.json()).toMatchObject({ accepted: 2, rejected: [] });
    // Every read path still answers.
    const admin = (await createUser(app, 'admin')).authorization;
    for (const path of ['/api/agents', '/api/traces', `/api/agents/${agentId}`, '/api/usage/aggregate', '/api/alerts']) {
      const page = await app.inject({ url: path, headers: { authorization: admin } });
      expect([path, page.statusCode]).toEqual([path, 200]);
    }
  });

  it('members see their project’s agents and traces, and 404 for another project’s', async () => {
    const mine = run();
    await post(mine.events);
    const otherProject = await createProject(app);
    const otherToken = (await createApiToken(app, otherProject)).token;
    const theirs = run();
    await post(theirs.events, `Bearer ${otherToken}`);
    const member = await createUser(app, 'member', [projectId]);
    const auth = { authorization: member.authorization };

    const list = (await app.inject({ url: '/api/agents', headers: auth })).json();
    expect(list.items.map((a: { id: string }) => a.id)).toEqual([mine.agentId]);
    expect(list.total).toBe(1);
    expect((await app.inject({ url: `/api/agents?status=running`, headers: auth })).json().items).toEqual([]);
    expect((await app.inject({ url: `/api/agents/${theirs.agentId}`, headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ url: `/api/agents?projectId=${otherProject}`, headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ url: `/api/traces/${theirs.agentId}`, headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ url: `/api/traces?projectId=${otherProject}`, headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ url: `/api/traces/not-a-uuid`, headers: auth })).statusCode).toBe(404);

    const traces = (await app.inject({ url: '/api/traces', headers: auth })).json();
    expect(traces.items).toHaveLength(1);
    expect(traces.items[0]).toMatchObject({ id: mine.agentId, outcome: 'ok', failedCalls: 1, models: ['claude-haiku', 'gpt-4o-mini'], durationMs: 3000 });
    expect((await app.inject({ url: '/api/traces?model=gpt-4o-mini', headers: auth })).json().items).toHaveLength(1);
    expect((await app.inject({ url: '/api/traces?model=gpt-5', headers: auth })).json().items).toHaveLength(0);
    expect((await app.inject({ url: '/api/traces?status=ok', headers: auth })).json().items).toHaveLength(1);
    expect((await app.inject({ url: '/api/traces?status=failed', headers: auth })).json().items).toHaveLength(0);
    expect((await app.inject({ url: '/api/traces?withFailedCalls=true', headers: auth })).json().items).toHaveLength(1);
    expect((await app.inject({ url: '/api/traces?withFailedCalls=false', headers: auth })).json().items).toHaveLength(0);
    expect((await app.inject({ url: `/api/traces?from=${new Date(T0 + 10_000).toISOString()}`, headers: auth })).json().items).toHaveLength(0);
    expect((await app.inject({ url: `/api/traces?to=${new Date(T0 + 1).toISOString()}`, headers: auth })).json().items).toHaveLength(1);
    expect((await app.inject({ url: '/api/traces/' + mine.agentId, headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/traces', headers: { authorization: `Bearer ${token}` } })).json().items).toHaveLength(1);
    const outsider = await createUser(app, 'viewer');
    expect((await app.inject({ url: '/api/agents', headers: { authorization: outsider.authorization } })).json()).toEqual({ items: [], total: 0 });
    expect((await app.inject({ url: '/api/agents' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/traces' })).statusCode).toBe(401);
  });

  it('pages traces with a cursor or an offset, newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const agentId = randomUUID();
      ids.push(agentId);
      await post([{ id: randomUUID(), type: 'AgentStarted', time: T0 + i * 1000, agentId, name: `a${i}`, kind: 'process' }]);
    }
    const admin = await createUser(app, 'admin');
    const auth = { authorization: admin.authorization };
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Array<{ id: string }>; nextCursor: string | null } = (await app.inject({ url: `/api/traces?limit=2${cursor ? `&cursor=${cursor}` : ''}`, headers: auth })).json();
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    expect((await app.inject({ url: '/api/traces?limit=2&offset=4', headers: auth })).json().items.map((i: { id: string }) => i.id)).toEqual([ids[0]]);
    expect((await app.inject({ url: '/api/traces?cursor=garbage', headers: auth })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/traces?limit=201', headers: auth })).statusCode).toBe(400);
  });

  it('publishes exactly the newly stored events on app.live, after commit', async () => {
    const received: LiveEvent[] = [];
    app.live.on('event', (event: LiveEvent) => received.push(event));
    const { agentId, events } = run();
    await post(events.slice(0, 3));
    await post(events); // 3 duplicates, 5 new
    expect(received.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(received[0]).toEqual({ id: events[0].id, projectId, agentId, type: 'AgentStarted', time: new Date(T0).toISOString(), payload: events[0] });
    const circuit = { id: randomUUID(), type: 'CircuitOpened', time: T0, provider: 'openai', model: 'gpt-4o', cooldownMs: 1000, reason: 'x' };
    await post([circuit]);
    expect(received.at(-1)).toMatchObject({ id: circuit.id, agentId: null, type: 'CircuitOpened' });
    expect(received).toHaveLength(9);
  });

  it('never stores or returns prompt bodies unless the project has storePrompts', async () => {
    const agentId = randomUUID();
    const event = {
      id: randomUUID(), type: 'LlmCallStarted', time: T0, agentId, model: 'm',
      prompt: 'secret', messages: [{ role: 'user', content: 'secret' }], input: 'secret', system: 'secret', output: 'secret', instructions: 'secret',
      request: { messages: [{ role: 'user', content: 'secret' }] }, details: { nested: { messages: ['secret'], kept: 1 }, list: [{ text: 'secret', n: 2 }] },
    };
    await post([event]);
    const admin = await createUser(app, 'admin');
    const trace = (await app.inject({ url: `/api/traces/${agentId}`, headers: { authorization: admin.authorization } })).json();
    expect(trace.events[0].payload).toEqual({ id: event.id, type: 'LlmCallStarted', time: T0, agentId, model: 'm', details: { nested: { kept: 1 }, list: [{ n: 2 }] } });
    // Nothing of it is in the database either.
    const stored = await app.orm.em.fork().getConnection().execute(`select payload from events where id = '${event.id}'`);
    expect(JSON.stringify(stored)).not.toContain('secret');
  });

  it("reports an id another project already used as rejected, not as this project's duplicate", async () => {
    const other = await createProject(app);
    const otherToken = (await createApiToken(app, other)).token;
    const id = randomUUID();
    expect((await post([{ id, type: 'Tick', time: T0 }], `Bearer ${otherToken}`)).json()).toMatchObject({ accepted: 1 });
    const mine = randomUUID();
    const body = (await post([{ id: mine, type: 'Tick', time: T0 }, { id, type: 'Tick', time: T0 }])).json();
    expect(body).toEqual({ accepted: 1, duplicates: 0, rejected: [{ index: 1, id, message: 'body/events/1/id: already used by an event of another project: send a new id (a UUID v7)' }] });
    // A true duplicate of this project's own is still a duplicate.
    expect((await post([{ id: mine, type: 'Tick', time: T0 }])).json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
  });

  it('a batch whose body arrives after its token was revoked is refused (401), not stored', async () => {
    const { token: slow, id } = await createApiToken(app, projectId);
    const { events } = run();
    const body = JSON.stringify({ events: events.slice(0, 3) });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    const { connect } = await import('node:net');
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (data) => (answer += data.toString()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${slow}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Revoked while the body is still on its way.
    const em = app.orm.em.fork();
    await em.nativeUpdate(ApiToken, { id }, { revokedAt: new Date() });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    socket.write(body);
    await new Promise((resolve) => socket.once('close', resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
    expect(answer).toContain('revoked or expired while this batch was being sent');
    const stored = await kysely(app.orm.em.fork()).selectFrom('events').select('id').where('id', 'in', events.slice(0, 3).map((e) => e.id as string)).execute();
    expect(stored).toEqual([]);
  });

  it('holds each API token to its quota of batches a minute (429 in the one shape); another token is not affected', async () => {
    process.env.IRON_INGEST_BATCHES_PER_MINUTE = '3';
    const limited = await testApp(await url());
    delete process.env.IRON_INGEST_BATCHES_PER_MINUTE;
    try {
      const project = await createProject(limited);
      const [a, b] = [(await createApiToken(limited, project)).token, (await createApiToken(limited, project)).token];
      const send = (token: string) => limited.inject({ method: 'POST', url: '/api/events', headers: { authorization: `Bearer ${token}` }, payload: { events: [{ id: randomUUID(), type: 'Tick', time: T0 }] } });
      for (let i = 0; i < 3; i++) expect((await send(a)).statusCode).toBe(200);
      const refused = await send(a);
      expect(refused.statusCode).toBe(429);
      expect(refused.json().error.code).toBe('IRON_RATE_LIMITED');
      expect((await send(b)).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('serves ingest over real HTTP', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as { port: number };
    const { events } = run();
    const response = await fetch(`http://127.0.0.1:${address.port}/api/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 8, duplicates: 0, rejected: [] });
  });
});
