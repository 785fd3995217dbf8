// A killed runtime does not look alive: running agents silent past IRON_AGENT_LOST_AFTER_S become lost, heartbeats
// keep them running (by the server's clock), any later sign of life brings one back, and its real end wins.
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markLost } from './ingest/lost.ts';
import { createApiToken, createProject, createUser, TEST_DATABASES, testApp } from './testing.ts';

describe.each(TEST_DATABASES)('lost agents ($name)', ({ url }) => {
  let app: FastifyInstance;
  let token: string;
  let otherToken: string;
  let admin: string;

  beforeAll(async () => {
    app = await testApp(await url());
    const projectId = await createProject(app);
    token = `Bearer ${(await createApiToken(app, projectId)).token}`;
    otherToken = `Bearer ${(await createApiToken(app, await createProject(app))).token}`;
    admin = (await createUser(app, 'admin')).authorization;
  });
  afterAll(() => app.close());

  const send = (events: Array<Record<string, unknown>>, authorization = token) => app.inject({ method: 'POST', url: '/api/events', headers: { authorization }, payload: { events } });
  const started = (agentId: string, time: number) => ({ id: randomUUID(), type: 'AgentStarted', time, agentId, name: 'worker', kind: 'function' });
  const heartbeat = (agentIds: string[], authorization = token) => app.inject({ method: 'POST', url: '/api/agents/heartbeat', headers: { authorization }, payload: { agentIds } });
  const status = async (agentId: string) => ((await app.inject({ url: `/api/agents/${agentId}`, headers: { authorization: admin } })).json() as { status: string }).status;

  it('marks a silent running agent lost, keeps a heartbeating one running, and lets a sign of life or its real end win', async () => {
    const now = Date.now();
    const [silent, beating, stopped] = [randomUUID(), randomUUID(), randomUUID()];
    expect((await send([started(silent, now - 120_000), started(beating, now - 120_000), started(stopped, now - 120_000), { id: randomUUID(), type: 'AgentStopped', time: now - 110_000, agentId: stopped, status: 'completed' }])).statusCode).toBe(200);
    expect((await heartbeat([beating, stopped])).json()).toEqual({ seen: 1 });

    const lost = await markLost(app, 60_000);
    expect(lost.map((agent) => agent.id)).toEqual([silent]);
    expect(await status(silent)).toBe('lost');
    expect(await status(beating)).toBe('running');
    expect(await status(stopped)).toBe('completed');

    // Its runtime was only cut off: a heartbeat brings it back; its AgentStopped then sets how it really ended.
    expect((await heartbeat([silent])).json()).toEqual({ seen: 1 });
    expect(await status(silent)).toBe('running');
    await markLost(app, 60_000);
    expect(await status(silent)).toBe('running');
    await send([{ id: randomUUID(), type: 'AgentStopped', time: Date.now(), agentId: silent, status: 'failed' }]);
    expect(await status(silent)).toBe('failed');
    expect((await heartbeat([silent])).json()).toEqual({ seen: 0 });
  });

  it("takes heartbeats from the project's API tokens only, for its own agents", async () => {
    const agentId = randomUUID();
    await send([started(agentId, Date.now() - 120_000)]);
    expect((await heartbeat([agentId], otherToken)).json()).toEqual({ seen: 0 });
    expect((await heartbeat([agentId], admin)).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/agents/heartbeat', payload: { agentIds: [agentId] } })).statusCode).toBe(401);
    expect((await heartbeat(['not-a-uuid'])).statusCode).toBe(400);
    expect((await heartbeat([])).statusCode).toBe(400);
    await markLost(app, 60_000);
    expect(await status(agentId)).toBe('lost');
  });
});
