// The hourly rollup (kept by triggers) gives exactly what summing the raw calls gives, for ranges that cut hours,
// after calls are updated (a cost arriving later) and after they are deleted.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { LlmCall } from './entities/index.ts';
import { createProject, createUser, TEST_DATABASES, testApp } from './testing.ts';
import { seededRandom } from '../plugins/safety/eval/seeded-random.ts';

const HOUR = 3_600_000;
const START = Date.UTC(2026, 10, 20);

describe.each(TEST_DATABASES)('usage rollup ($name)', ({ url }) => {
  let app: FastifyInstance;
  let admin: string;
  let projects: string[];
  interface Fixture { id: string; projectId: string; model: string; provider: string; status: 'ok' | 'failed'; inputTokens: number; outputTokens: number; costMicros: number; time: number }
  let calls: Fixture[];

  beforeAll(async () => {
    app = await testApp(await url());
    admin = (await createUser(app, 'admin')).authorization;
    projects = [await createProject(app), await createProject(app)];
    const random = seededRandom(11);
    calls = Array.from({ length: 600 }, () => ({
      id: randomUUID(),
      projectId: projects[random() < 0.6 ? 0 : 1]!,
      model: random() < 0.5 ? 'gpt-4o-mini' : 'claude-haiku-4-5',
      provider: random() < 0.5 ? 'openai' : 'anthropic',
      status: random() < 0.1 ? 'failed' : 'ok',
      inputTokens: Math.floor(random() * 2000),
      outputTokens: Math.floor(random() * 500),
      costMicros: Math.floor(random() * 5000),
      time: START + Math.floor(random() * 72 * HOUR),
    }));
    const em = app.orm.em.fork();
    for (const call of calls) em.create(LlmCall, { ...call, agentId: randomUUID(), time: new Date(call.time), latencyMs: 0, piiDetections: 0 });
    await em.flush();
    // A cost arriving after the call was stored (an update), and calls going away (a delete).
    const later = em.fork();
    const first = await later.findOneOrFail(LlmCall, { id: calls[0]!.id });
    first.costMicros += 1234;
    calls[0]!.costMicros += 1234;
    await later.flush();
    await later.nativeDelete(LlmCall, { id: { $in: calls.slice(1, 21).map((c) => c.id) } });
    calls.splice(1, 20);
  });
  afterAll(() => app.close());

  /** What summing the fixture rows gives for a range and a grouping. */
  function expected(from: number, to: number, key: (c: Fixture) => string) {
    const groups = new Map<string, { calls: number; failedCalls: number; inputTokens: number; outputTokens: number; micros: number }>();
    for (const c of calls) {
      if (c.time < from || c.time >= to) continue;
      const g = groups.get(key(c)) ?? { calls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, micros: 0 };
      g.calls += 1;
      g.failedCalls += c.status === 'failed' ? 1 : 0;
      g.inputTokens += c.inputTokens;
      g.outputTokens += c.outputTokens;
      g.micros += c.costMicros;
      groups.set(key(c), g);
    }
    return groups;
  }

  it.each([
    ['day', (c: Fixture) => new Date(Math.floor(c.time / 86_400_000) * 86_400_000).toISOString()],
    ['hour', (c: Fixture) => new Date(Math.floor(c.time / HOUR) * HOUR).toISOString()],
    ['model', (c: Fixture) => c.model],
    ['provider', (c: Fixture) => c.provider],
    ['project', (c: Fixture) => c.projectId],
  ] as const)('matches the raw sums grouped by %s over a range that cuts hours', async (groupBy, key) => {
    const from = START + 5 * HOUR + 17 * 60_000;
    const to = START + 61 * HOUR + 43 * 60_000;
    const response = await app.inject({ url: `/api/usage/aggregate?groupBy=${groupBy}&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`, headers: { authorization: admin } });
    expect(response.statusCode).toBe(200);
    const want = expected(from, to, key);
    const got = new Map((response.json().groups as Array<{ key: string; calls: number; failedCalls: number; inputTokens: number; outputTokens: number; costUsd: number }>).map((g) => [g.key, g]));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, w] of want) {
      expect(got.get(k)).toEqual({ key: k, calls: w.calls, failedCalls: w.failedCalls, inputTokens: w.inputTokens, outputTokens: w.outputTokens, costUsd: w.micros / 1e6 });
    }
  });
});
