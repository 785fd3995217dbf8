// Budget leases: concurrent runtimes never get more than the limit together; a returned lease gives back what its
// holder did not use, an expired one only once it is settled; use is recorded in full; only the project's runtimes
// (and admins) may borrow.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Limit } from './entities/index.ts';
import { dialectOf, kysely } from './ingest/db.ts';
import { createApiToken, createProject, createUser, TEST_DATABASES, testApp } from './testing.ts';
import { randomUUID } from 'node:crypto';

describe.each(TEST_DATABASES)('leases ($name)', ({ url }) => {
  let app: FastifyInstance;
  let projectId: string;
  let runtime: string;

  beforeAll(async () => {
    app = await testApp(await url());
    projectId = await createProject(app);
    runtime = `Bearer ${(await createApiToken(app, projectId)).token}`;
  });
  afterAll(() => app.close());

  async function budget(amountUsd: number, kind: 'budget' | 'rate' = 'budget'): Promise<string> {
    const em = app.orm.em.fork();
    const limit = em.create(Limit, { id: randomUUID(), projectId, scope: 'project', target: '', kind, amountUsd: kind === 'budget' ? amountUsd : null, period: kind === 'budget' ? 'total' : null, requestsPerMinute: kind === 'rate' ? 60 : null });
    await em.flush();
    return limit.id;
  }
  // Asks for what it needs now (minUsd): granted in full when the budget has it. Without it, see the fair-share test.
  const lease = (limitId: string, requestUsd: number, extra: Record<string, unknown> = {}, authorization = runtime) =>
    app.inject({ method: 'POST', url: '/api/leases', headers: { authorization }, payload: { limitId, holder: 'runtime-a', requestUsd, minUsd: requestUsd, ...extra } });

  it('grants atomically: 40 concurrent requests of $0.05 on a $1 budget get $1 in total, the rest are told it is exhausted', async () => {
    const limitId = await budget(1);
    const answers = await Promise.all(Array.from({ length: 40 }, () => lease(limitId, 0.05)));
    for (const answer of answers) expect(answer.statusCode).toBe(201);
    const grants = answers.map((a) => a.json() as { grantedUsd: number; exhausted: boolean });
    expect(grants.reduce((sum, g) => sum + Math.round(g.grantedUsd * 1e6), 0)).toBe(1_000_000);
    expect(grants.filter((g) => g.exhausted)).toHaveLength(20);
  });

  it('counts what was spent in the period before the limit existed (or outside its leases) on top of what its leases hold', async () => {
    const project = await createProject(app);
    const token = `Bearer ${(await createApiToken(app, project)).token}`;
    // $0.00032 spent today, by runs that held no lease of this limit.
    const db = kysely(app.orm.em.fork());
    const dialect = dialectOf(app.orm.em.fork());
    await db.insertInto('llm_calls').values({ id: randomUUID(), project_id: project, agent_id: randomUUID(), provider: 'openai', model: 'gpt-4o-mini', status: 'ok', stream: dialect.bool(false), input_tokens: 10, output_tokens: 10, cost_micros: 320, latency_ms: 5, pii_detections: 0, error_code: null, time: dialect.time(Date.now()) }).execute();
    const em = app.orm.em.fork();
    const limit = em.create(Limit, { id: randomUUID(), projectId: project, scope: 'project', target: '', kind: 'budget', amountUsd: 0.0004, period: 'day', requestsPerMinute: null });
    await em.flush();
    const first = (await lease(limit.id, 0.0003, { minUsd: 0.00008 }, token)).json();
    expect(first.grantedUsd).toBeCloseTo(0.00008, 8);
    // Reported and ingested use is counted once, not twice.
    await app.inject({ method: 'POST', url: `/api/leases/${first.id}/return`, headers: { authorization: token }, payload: { usedUsd: 0.00008 } });
    await db.insertInto('llm_calls').values({ id: randomUUID(), project_id: project, agent_id: randomUUID(), provider: 'openai', model: 'gpt-4o-mini', status: 'ok', stream: dialect.bool(false), input_tokens: 10, output_tokens: 10, cost_micros: 80, latency_ms: 5, pii_detections: 0, error_code: null, time: dialect.time(Date.now()) }).execute();
    const second = (await lease(limit.id, 0.0003, { minUsd: 0.00001 }, token)).json();
    expect(second).toMatchObject({ grantedUsd: 0, exhausted: true });
  });

  it("counts the spend before the limit's first lease even while its leases' reported use is not ingested yet (an outside review overspent a limit created after a run)", async () => {
    const project = await createProject(app);
    const token = `Bearer ${(await createApiToken(app, project)).token}`;
    const db = kysely(app.orm.em.fork());
    const dialect = dialectOf(app.orm.em.fork());
    // $0.00032 spent by a run before the limit existed.
    await db.insertInto('llm_calls').values({ id: randomUUID(), project_id: project, agent_id: randomUUID(), provider: 'openai', model: 'gpt-4o-mini', status: 'ok', stream: dialect.bool(false), input_tokens: 10, output_tokens: 10, cost_micros: 320, latency_ms: 5, pii_detections: 0, error_code: null, time: dialect.time(Date.now() - 1000) }).execute();
    const em = app.orm.em.fork();
    const limit = em.create(Limit, { id: randomUUID(), projectId: project, scope: 'project', target: '', kind: 'budget', amountUsd: 0.0004, period: 'total', requestsPerMinute: null });
    await em.flush();
    const first = (await lease(limit.id, 0.0003, { minUsd: 0.00008 }, token)).json();
    expect(first.grantedUsd).toBeCloseTo(0.00008, 8);
    // The next run's lease reports its use before the runtime's outbox has delivered the call itself.
    await app.inject({ method: 'POST', url: `/api/leases/${first.id}/return`, headers: { authorization: token }, payload: { usedUsd: 0.00008 } });
    const second = (await lease(limit.id, 0.0003, { minUsd: 0.00001 }, token)).json();
    expect(second).toMatchObject({ grantedUsd: 0, exhausted: true });
  });

  const renew = (id: string, payload: Record<string, unknown>) => app.inject({ method: 'POST', url: `/api/leases/${id}/renew`, headers: { authorization: runtime }, payload });
  const giveBack = (id: string, usedUsd: number) => app.inject({ method: 'POST', url: `/api/leases/${id}/return`, headers: { authorization: runtime }, payload: { usedUsd } });

  it('partial grants, renewals that report use, and returns that give back the unused part', async () => {
    const limitId = await budget(0.1);
    const first = (await lease(limitId, 0.08)).json();
    expect(first).toMatchObject({ grantedUsd: 0.08, availableUsd: 0.02, exhausted: false });
    const second = (await lease(limitId, 0.05)).json();
    expect(second).toMatchObject({ grantedUsd: 0.02, availableUsd: 0, exhausted: true });
    const renewed = (await renew(first.id, { usedUsd: 0.03, requestUsd: 0.01 })).json();
    expect(renewed).toMatchObject({ grantedUsd: 0.08, usedUsd: 0.03, exhausted: true });
    const returned = (await giveBack(first.id, 0.03)).json();
    expect(returned).toMatchObject({ status: 'returned', usedUsd: 0.03, availableUsd: 0.05 });
    expect((await lease(limitId, 1)).json()).toMatchObject({ grantedUsd: 0.05, exhausted: true });
    const gone = await renew(first.id, { usedUsd: 0.03 });
    expect(gone.statusCode).toBe(409);
    expect(gone.json().error).toMatchObject({ code: 'IRON_LEASE_RETURNED', details: { status: 'returned' } });
  });

  it('an expired lease is never renewed (even when no other request expired it first), but its use is recorded', async () => {
    const limitId = await budget(0.1);
    const held = (await lease(limitId, 0.1, { ttlSeconds: 1 })).json();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // The first request after expiry is the renewal itself: it must not bring the lease back (it used to: $2 on $1).
    const late = await renew(held.id, { usedUsd: 0.07, requestUsd: 0.5, ttlSeconds: 60 });
    expect(late.statusCode).toBe(409);
    expect(late.json().error).toMatchObject({ code: 'IRON_LEASE_EXPIRED', details: { status: 'expired', usedUsd: 0.07 } });
    // Expired but not settled: its holder may have spent its whole grant, so nothing is lent yet.
    expect((await lease(limitId, 0.1)).json()).toMatchObject({ grantedUsd: 0 });
    // The holder settles it (after an outage, or the next run from its outbox): the unused part comes back.
    expect((await giveBack(held.id, 0.07)).json()).toMatchObject({ status: 'returned', usedUsd: 0.07 });
    expect((await lease(limitId, 0.1)).json()).toMatchObject({ grantedUsd: 0.03, exhausted: true });
  });

  it('a lease whose runtime vanished keeps its grant committed until it is settled (fail closed)', async () => {
    const limitId = await budget(0.1);
    const held = (await lease(limitId, 0.1, { ttlSeconds: 1 })).json();
    await renew(held.id, { usedUsd: 0.04, ttlSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // It reported $0.04 before it went silent, but may have spent up to $0.1 since: nothing is lent.
    expect((await lease(limitId, 0.1)).json()).toMatchObject({ grantedUsd: 0, exhausted: true });
    const admin = await createUser(app, 'admin');
    // An admin who knows what it spent settles it by hand.
    const settled = await app.inject({ method: 'POST', url: `/api/leases/${held.id}/return`, headers: { authorization: admin.authorization }, payload: { usedUsd: 0.05 } });
    expect(settled.json()).toMatchObject({ status: 'returned', usedUsd: 0.05, availableUsd: 0.05 });
  });

  it('records use above the grant in full (never capped) and raises a BudgetExceeded alert', async () => {
    const limitId = await budget(0.1);
    const held = (await lease(limitId, 0.02)).json();
    const over = (await renew(held.id, { usedUsd: 0.035 })).json();
    expect(over).toMatchObject({ grantedUsd: 0.02, usedUsd: 0.035 });
    // The excess is committed: $0.1 − $0.035 is what is left to lend.
    expect((await lease(limitId, 1)).json()).toMatchObject({ grantedUsd: 0.065 });
    // Reported use never goes down.
    expect((await giveBack(held.id, 0.01)).json()).toMatchObject({ usedUsd: 0.035 });
    const alerts = (await app.inject({ url: '/api/alerts?type=BudgetExceeded', headers: { authorization: (await createUser(app, 'admin')).authorization } })).json() as { items: Array<{ payload: Record<string, unknown> }> };
    const alert = alerts.items.find((item) => item.payload.leaseId === held.id);
    expect(alert?.payload).toMatchObject({ limitId, grantedUsd: 0.02, spentUsd: 0.035, overUsd: 0.015 });
    // The limits list shows what leases reported even before (or without) the calls being ingested.
    const limits = (await app.inject({ url: `/api/limits?projectId=${projectId}`, headers: { authorization: (await createUser(app, 'admin')).authorization } })).json() as { limits: Array<{ id: string; spentUsd: number }> };
    expect(limits.limits.find((limit) => limit.id === limitId)?.spentUsd).toBeCloseTo(0.035, 9);
  });

  it('shares the end of a budget: no grant takes more than half of what is left unless a call needs it; a runtime gives back what it does not need', async () => {
    const limitId = await budget(0.1);
    const ask = (requestUsd: number, minUsd?: number) => app.inject({ method: 'POST', url: '/api/leases', headers: { authorization: runtime }, payload: { limitId, holder: 'r', requestUsd, ...(minUsd === undefined ? {} : { minUsd }) } });
    const first = (await ask(0.1)).json();
    expect(first).toMatchObject({ grantedUsd: 0.05, availableUsd: 0.05, exhausted: true, othersUnusedUsd: 0 });
    expect((await ask(0.1)).json()).toMatchObject({ grantedUsd: 0.025, othersUnusedUsd: 0.05 });
    // A call that needs $0.02 now gets it although half of what is left is $0.0125.
    expect((await ask(0.1, 0.02)).json()).toMatchObject({ grantedUsd: 0.02, availableUsd: 0.005 });
    // The first runtime used $0.01 and keeps only that: the rest is lendable again at once, in the same request.
    const kept = (await renew(first.id, { usedUsd: 0.01, keepUsd: 0.01 })).json();
    expect(kept).toMatchObject({ grantedUsd: 0.01, usedUsd: 0.01, availableUsd: 0.045 });
    // Never below the use reported.
    expect((await renew(first.id, { usedUsd: 0.01, keepUsd: 0 })).json()).toMatchObject({ grantedUsd: 0.01 });
  });

  it('concurrent renewals and returns of one lease never lose a report', async () => {
    const limitId = await budget(1);
    const held = (await lease(limitId, 0.1)).json();
    const reports = Array.from({ length: 30 }, (_, i) => (i + 1) / 1000);
    await Promise.all(reports.map((usedUsd, i) => (i % 7 === 6 ? giveBack(held.id, usedUsd) : renew(held.id, { usedUsd, requestUsd: 0.01 }))));
    const final = (await giveBack(held.id, 0)).json();
    expect(final).toMatchObject({ status: 'returned', usedUsd: 0.03 });
  });

  it('only the project\'s runtimes and admins borrow; rate limits are not lent; bad amounts are 400 with the field', async () => {
    const limitId = await budget(1);
    const other = `Bearer ${(await createApiToken(app, await createProject(app))).token}`;
    expect((await lease(limitId, 0.1, {}, other)).statusCode).toBe(404);
    const member = await createUser(app, 'member', [projectId]);
    expect((await lease(limitId, 0.1, {}, member.authorization)).statusCode).toBe(403);
    const admin = await createUser(app, 'admin');
    expect((await lease(limitId, 0.1, {}, admin.authorization)).statusCode).toBe(201);
    expect((await lease(await budget(0, 'rate'), 0.1)).statusCode).toBe(400);
    const negative = await lease(limitId, -1);
    expect(negative.statusCode).toBe(400);
    expect(negative.json().error.message).toMatch(/body\/requestUsd/);
    expect((await app.inject({ method: 'POST', url: '/api/leases', payload: { limitId, holder: 'x', requestUsd: 1 } })).statusCode).toBe(401);
  });

  it("another API token of the project can neither return nor renew a runtime's lease (the server would lend it twice); an admin can", async () => {
    const limitId = await budget(1);
    const taken = (await lease(limitId, 0.4)).json();
    const sibling = `Bearer ${(await createApiToken(app, projectId)).token}`;
    for (const action of ['return', 'renew']) {
      const answer = await app.inject({ method: 'POST', url: `/api/leases/${taken.id}/${action}`, headers: { authorization: sibling }, payload: { usedUsd: 0 } });
      expect(answer.statusCode).toBe(403);
      expect(answer.json().error.message).toContain('taken with another API token of the project');
    }
    // Still the holder's: the money is not lent again.
    expect((await lease(limitId, 0.6, {}, sibling)).json()).toMatchObject({ grantedUsd: 0.6 });
    expect((await lease(limitId, 0.01, {}, sibling)).json()).toMatchObject({ grantedUsd: 0, exhausted: true });
    expect((await app.inject({ method: 'POST', url: `/api/leases/${taken.id}/renew`, headers: { authorization: runtime }, payload: { usedUsd: 0.1 } })).statusCode).toBe(200);
    const admin = await createUser(app, 'admin');
    expect((await app.inject({ method: 'POST', url: `/api/leases/${taken.id}/return`, headers: { authorization: admin.authorization }, payload: { usedUsd: 0.1 } })).json()).toMatchObject({ status: 'returned', usedUsd: 0.1 });
  });
});
