// Issue 22: several `iron server` processes on one PostgreSQL database, started at once (migrations, first admin,
// server key), each answering the same; events ingested on one reach WebSocket clients on the other, once and in
// order; the login rate limit, webhook deliveries and lease grants hold across them; a killed instance loses no
// acknowledged event and its clients reconnect to the other; a stopped one closes its sockets with 1012.
// Runs when IRON_TEST_PG_URL is set (as in .ci/run): each run gets a database of its own, dropped after.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort, startIronServer } from './helpers.ts';

const PG = process.env.IRON_TEST_PG_URL;
const ADMIN = { email: 'scale@example.com', password: 'correct horse battery staple' };
const ENV = { IRON_JWT_SECRET: 'scale-out-test-secret-of-at-least-32-bytes!!', IRON_ADMIN_EMAIL: ADMIN.email, IRON_ADMIN_PASSWORD: ADMIN.password, IRON_LOGIN_RATE_LIMIT: '6', IRON_WEBHOOK_ALLOW_PRIVATE: '1' };

interface Instance {
  url: string;
  port: number;
  process: ChildProcess;
}

const REDIS = process.env.IRON_TEST_REDIS_URL;
const CHANNELS = [{ channel: 'postgres', env: {} as Record<string, string> }, ...(REDIS ? [{ channel: 'redis', env: { IRON_REDIS_URL: REDIS } }] : [])];

describe.skipIf(!PG).each(CHANNELS)('several iron server instances on one PostgreSQL, events over $channel', ({ channel, env }) => {
  const database = `iron_scale_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let dbUrl = '';
  let a: Instance;
  let b: Instance;
  let admin = '';
  let projectId = '';
  let token = '';
  const sockets: WebSocket[] = [];

  async function admin_(sql: string): Promise<void> {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: PG });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  async function start(): Promise<Instance> {
    const port = await freePort();
    const child = await startIronServer(dbUrl, port, { ...ENV, ...env });
    return { url: `http://127.0.0.1:${port}`, port, process: child };
  }

  async function call<T = any>(on: Instance, path: string, init: { method?: string; body?: unknown; authorization?: string } = {}): Promise<{ status: number; body: T }> {
    const response = await fetch(`${on.url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(init.authorization ? { authorization: init.authorization } : {}) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  function listen(on: Instance, authorization: string): Promise<{ socket: WebSocket; events: Array<{ id: string; agentId: string }>; closed: Promise<number> }> {
    const socket = new WebSocket(`ws://127.0.0.1:${on.port}/ws?token=${authorization.slice('Bearer '.length)}`);
    sockets.push(socket);
    const events: Array<{ id: string; agentId: string }> = [];
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; event?: { id: string; agentId: string } };
      if (message.type === 'event') events.push(message.event!);
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve({ socket, events, closed }));
      socket.once('error', reject);
    });
  }

  const started = (agentId: string) => ({ id: randomUUID(), type: 'AgentStarted', time: new Date().toISOString(), agentId, name: 'scaled' });
  const ingest = (on: Instance, events: unknown[]) => call(on, '/api/events', { authorization: `Bearer ${token}`, body: { events } });

  beforeAll(async () => {
    await admin_(`create database ${database}`);
    const url = new URL(PG!);
    url.pathname = `/${database}`;
    dbUrl = url.toString();
    // Started at once on an empty database: one migrates while the other waits; one creates the admin and the key.
    [a, b] = await Promise.all([start(), start()]);
    const login = await call(a, '/api/auth/login', { body: ADMIN });
    expect(login.status).toBe(200);
    admin = `Bearer ${login.body.accessToken}`;
    projectId = (await call(a, '/api/projects', { authorization: admin, body: { name: 'scaled' } })).body.id;
    token = (await call(b, '/api/tokens', { authorization: admin, body: { name: 'runtime', projectId } })).body.token;
  }, 60_000);

  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    for (const instance of [a, b]) instance?.process.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await admin_(`drop database if exists ${database} with (force)`).catch(() => undefined);
  });

  it('answers the same on every instance, and each reports its database and live channel ready', async () => {
    for (const on of [a, b]) {
      expect((await call(on, '/ready')).body).toMatchObject({ status: 'ready', database: 'up', channel: { kind: channel, connected: true } });
      expect((await call(on, `/api/projects/${projectId}`, { authorization: admin })).body).toMatchObject({ id: projectId, name: 'scaled' });
      expect((await call(on, '/api/tokens', { authorization: admin })).body.tokens.map((t: { projectId: string }) => t.projectId)).toContain(projectId);
    }
  });

  it('an event ingested on one instance reaches a /ws client on the other, once, in order per agent', async () => {
    const onB = await listen(b, admin);
    const onA = await listen(a, admin);
    const agentId = randomUUID();
    const batches = [Array.from({ length: 10 }, () => started(agentId)), Array.from({ length: 10 }, () => started(agentId))];
    const sent = performance.now();
    for (const batch of batches) expect((await ingest(a, batch)).status).toBe(200);
    await expect.poll(() => onB.events.length, { timeout: 5_000, interval: 5 }).toBe(20);
    const crossMs = performance.now() - sent;
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Once each, in the order stored; the ingesting instance's own clients too.
    expect(onB.events.map((e) => e.id)).toEqual(batches.flat().map((e) => e.id));
    expect(onA.events.map((e) => e.id)).toEqual(batches.flat().map((e) => e.id));
    expect(crossMs).toBeLessThan(2_000);
    // And the other way round.
    const back = started(randomUUID());
    expect((await ingest(b, [back])).status).toBe(200);
    await expect.poll(() => onA.events.some((e) => e.id === back.id), { timeout: 5_000 }).toBe(true);
    onA.socket.close();
    onB.socket.close();
  });

  it('an event too big for one notification is announced by id and read back', async () => {
    const onB = await listen(b, admin);
    const big = { ...started(randomUUID()), name: 'n'.repeat(200), note: 'x'.repeat(12_000) };
    expect((await ingest(a, [big])).status).toBe(200);
    await expect.poll(() => onB.events.map((e) => e.id), { timeout: 5_000 }).toEqual([big.id]);
    onB.socket.close();
  });

  it.runIf(channel === 'postgres')('a listener connection that drops reconnects and tells its clients events may be missing', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${b.port}/ws?token=${admin.slice('Bearer '.length)}`);
    sockets.push(socket);
    const dropped = new Promise<{ type: string; reason: string }>((resolve) =>
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; reason: string };
        if (message.type === 'dropped') resolve(message);
      }),
    );
    await new Promise<void>((resolve) => socket.once('open', () => resolve()));
    // Cut every LISTEN connection of this database: both instances' listeners go, and come back.
    await admin_(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${database}' and query ilike 'listen %'`);
    expect(await dropped).toMatchObject({ type: 'dropped', reason: expect.stringContaining('reconnected') });
    await expect.poll(async () => (await call(b, '/ready')).body?.channel?.connected, { timeout: 10_000 }).toBe(true);
    // And events cross again.
    const onB = await listen(b, admin);
    const after = started(randomUUID());
    expect((await ingest(a, [after])).status).toBe(200);
    await expect.poll(() => onB.events.some((e) => e.id === after.id), { timeout: 5_000 }).toBe(true);
    socket.close();
    onB.socket.close();
  });

  it('the login rate limit is one limit across instances', async () => {
    // One login so far from this address (beforeAll); the limit is 6 a minute, counted wherever they land.
    const wrong = { email: ADMIN.email, password: 'not the password at all' };
    const statuses: number[] = [];
    for (const on of [a, b, a, b, a, b]) statuses.push((await call(on, '/api/auth/login', { body: wrong })).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429);
  });

  it('a webhook is delivered exactly once with both instances running', async () => {
    const received: string[] = [];
    const receiver: Server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push(body);
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      expect((await call(a, '/api/webhooks', { authorization: admin, body: { projectId, url: target, events: ['PiiAlert'] } })).status).toBe(201);
      const alerts = Array.from({ length: 5 }, () => ({ id: randomUUID(), type: 'PiiAlert', time: new Date().toISOString(), agentId: randomUUID(), callId: randomUUID(), direction: 'input', entityType: 'EMAIL_ADDRESS', count: 1, action: 'redact', valueHashes: ['0123456789abcdef'] }));
      expect((await ingest(b, alerts.slice(0, 3))).status).toBe(200);
      expect((await ingest(a, alerts.slice(3))).status).toBe(200);
      await expect.poll(() => received.length, { timeout: 10_000 }).toBe(5);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(received.map((body) => JSON.parse(body).id).sort()).toEqual(alerts.map((alert) => alert.id).sort());
    } finally {
      receiver.close();
    }
  });

  it('40 concurrent lease requests spread over both instances never grant more than the limit', async () => {
    const limit = (await call(a, '/api/limits', { authorization: admin, body: { projectId, scope: 'project', kind: 'budget', amountUsd: 1, period: 'total' } })).body;
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => call(i % 2 ? a : b, '/api/leases', { authorization: `Bearer ${token}`, body: { limitId: limit.id, holder: `runtime-${i}`, requestUsd: 0.05, minUsd: 0.05 } })),
    );
    for (const answer of answers) expect(answer.status).toBe(201);
    const granted = answers.reduce((sum, answer) => sum + Math.round(answer.body.grantedUsd * 1e6), 0);
    expect(granted).toBe(1_000_000);
  });

  it('killing an instance loses no acknowledged event, and its clients reconnect to the other', async () => {
    const onA = await listen(a, admin);
    const acknowledged: string[] = [];
    for (let i = 0; i < 5; i++) {
      const event = started(randomUUID());
      if ((await ingest(a, [event])).status === 200) acknowledged.push(event.agentId);
    }
    expect(acknowledged).toHaveLength(5);
    a.process.kill('SIGKILL');
    expect(await onA.closed).not.toBe(1000);
    const again = await listen(b, admin);
    const late = started(randomUUID());
    expect((await ingest(b, [late])).status).toBe(200);
    await expect.poll(() => again.events.some((e) => e.id === late.id), { timeout: 5_000 }).toBe(true);
    // Every event instance A acknowledged before it died is there, read through the surviving instance.
    for (const agentId of acknowledged) expect((await call(b, `/api/agents/${agentId}`, { authorization: admin })).status).toBe(200);
    again.socket.close();
    a = await start();
  });

  it('a stopped instance (SIGTERM) closes its sockets with 1012 so clients reconnect elsewhere, and exits 143', async () => {
    const onB = await listen(b, admin);
    const exited = new Promise<number | null>((resolve) => b.process.once('exit', (code) => resolve(code)));
    b.process.kill('SIGTERM');
    expect(await onB.closed).toBe(1012);
    expect(await exited).toBe(143);
    expect((await call(a, '/ready')).status).toBe(200);
  });
});
