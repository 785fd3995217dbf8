// The database or Redis away under a running server: the API answers 503 IRON_DATABASE_UNAVAILABLE with Retry-After
// (which runtimes and load balancers retry), never a 500 that reads as a bug; /ready says which part is away,
// including a paused Redis whose socket stays open; and everything answers again when they are back.
// Runs when IRON_TEST_PG_URL (and IRON_TEST_REDIS_URL, for the Redis case) is set, as in .ci/run.
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_DATABASES, login, testApp } from '../server/testing.ts';
import { startFaultProxy, type FaultProxy } from './tcp-fault-proxy.ts';

const PG = process.env.IRON_TEST_PG_URL;
const REDIS = process.env.IRON_TEST_REDIS_URL;

/** `url` with its host and port replaced by the proxy's. */
function through(url: string, proxy: FaultProxy): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return parsed.toString();
}

describe.skipIf(!PG)('the database away under a running server (PostgreSQL)', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });

  it('answers 503 with Retry-After while it is away, /ready names it, and all answers again when it is back', async () => {
    const direct = await TEST_DATABASES.find((database) => database.name === 'postgresql')!.url();
    const parsed = new URL(direct);
    const proxy = await startFaultProxy({ host: parsed.hostname, port: Number(parsed.port || 5432) });
    cleanup.push(() => proxy.close());
    const app: FastifyInstance = await testApp(through(direct, proxy));
    cleanup.push(() => app.close());
    const admin = await login(app);
    const projects = () => app.inject({ url: '/api/projects', headers: { authorization: admin } });
    expect((await projects()).statusCode).toBe(200);

    await proxy.cut();
    for (const request of [projects(), app.inject({ method: 'POST', url: '/api/events', headers: { authorization: 'Bearer iron_pat_0123456789abcdef0123456789abcdef0123456789ab' }, payload: { events: [] } })]) {
      const answer = await request;
      expect(answer.statusCode).toBe(503);
      expect(answer.headers['retry-after']).toBe('5');
      expect(answer.json().error.code).toBe('IRON_DATABASE_UNAVAILABLE');
      expect(answer.json().error.message).toMatch(/^the server's database cannot answer now \(.+\): try again shortly$/);
    }
    const ready = await app.inject({ url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.details.database).toBe('down');

    await proxy.restore();
    await expect.poll(async () => (await projects()).statusCode, { timeout: 15_000, interval: 200 }).toBe(200);
    // The live channel's LISTEN connection went down with it, and reconnects on its own.
    await expect.poll(async () => (await app.inject({ url: '/ready' })).statusCode, { timeout: 15_000, interval: 200 }).toBe(200);
  }, 40_000);
});

describe.skipIf(!PG || !REDIS)('Redis paused under a running server', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });

  it('/ready answers 503 within seconds while Redis holds its sockets open and answers nothing, 200 once it wakes', async () => {
    const redis = new URL(REDIS!);
    const proxy = await startFaultProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    cleanup.push(() => proxy.close());
    const db = await TEST_DATABASES.find((database) => database.name === 'postgresql')!.url();
    const app: FastifyInstance = await testApp(db, { redisUrl: through(REDIS!, proxy) });
    cleanup.push(() => app.close());
    await expect.poll(async () => (await app.inject({ url: '/ready' })).statusCode, { timeout: 10_000 }).toBe(200);

    proxy.freeze();
    const started = Date.now();
    const ready = await app.inject({ url: '/ready' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.message).toBe("the live event channel (redis) does not answer within 1000 ms: WebSocket clients here would miss other instances' events");

    proxy.thaw();
    await expect.poll(async () => (await app.inject({ url: '/ready' })).statusCode, { timeout: 10_000 }).toBe(200);
  }, 40_000);
});
