// Budget leases: concurrent runtimes never get more than the limit together; returned and expired leases give
// back what their holder did not use; only the project's runtimes (and admins) may borrow.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Limit } from './entities/index.ts';
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
  const lease = (limitId: string, requestUsd: number, extra: Record<string, unknown> = {}, authorization = runtime) =>
    app.inject({ method: 'POST', url: '/api/leases', headers: { authorization }, payload: { limitId, holder: 'runtime-a', requestUsd, ...extra } });

  it('grants atomically: 40 concurrent requests of $0.05 on a $1 budget get $1 in total, the rest are told it is exhausted', async () => {
    const limitId = await budget(1);
    const answers = await Promise.all(Array.from({ length: 40 }, () => lease(limitId, 0.05)));
    for (const answer of answers) expect(answer.statusCode).toBe(201);
    const grants = answers.map((a) => a.json() as { grantedUsd: number; exhausted: boolean });
    expect(grants.reduce((sum, g) => sum + Math.round(g.grantedUsd * 1e6), 0)).toBe(1_000_000);
    expect(grants.filter((g) => g.exhausted)).toHaveLength(20);
  });

  it('partial grants, renewals that report use, and returns that give back the unused part', async () => {
    const limitId = await budget(0.1);
    const first = (await lease(limitId, 0.08)).json();
    expect(first).toMatchObject({ grantedUsd: 0.08, availableUsd: 0.02, exhausted: false });
    const second = (await lease(limitId, 0.05)).json();
    expect(second).toMatchObject({ grantedUsd: 0.02, availableUsd: 0, exhausted: true });
    const renewed = (await app.inject({ method: 'POST', url: `/api/leases/${first.id}/renew`, headers: { authorization: runtime }, payload: { usedUsd: 0.03, requestUsd: 0.01 } })).json();
    expect(renewed).toMatchObject({ grantedUsd: 0.08, usedUsd: 0.03, exhausted: true });
    const returned = (await app.inject({ method: 'POST', url: `/api/leases/${first.id}/return`, headers: { authorization: runtime }, payload: { usedUsd: 0.03 } })).json();
    expect(returned).toMatchObject({ status: 'returned', usedUsd: 0.03, availableUsd: 0.05 });
    expect((await lease(limitId, 1)).json()).toMatchObject({ grantedUsd: 0.05, exhausted: true });
    const gone = await app.inject({ method: 'POST', url: `/api/leases/${first.id}/renew`, headers: { authorization: runtime }, payload: { usedUsd: 0.03 } });
    expect(gone.statusCode).toBe(400);
  });

  it('a lease whose runtime vanished expires after its TTL, and its unused part returns', async () => {
    const limitId = await budget(0.1);
    const held = (await lease(limitId, 0.1, { ttlSeconds: 1 })).json();
    await app.inject({ method: 'POST', url: `/api/leases/${held.id}/renew`, headers: { authorization: runtime }, payload: { usedUsd: 0.04, ttlSeconds: 1 } });
    expect((await lease(limitId, 0.1)).json()).toMatchObject({ grantedUsd: 0 });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await lease(limitId, 0.1)).json()).toMatchObject({ grantedUsd: 0.06, exhausted: true });
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
});
