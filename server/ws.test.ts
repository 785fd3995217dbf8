// GET /ws over a real port with the `ws` client: auth (close 4401), visibility, subscribe, heartbeats, cleanup.
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LiveEvent } from './context.ts';
import { ApiToken, Membership } from './entities/index.ts';
import { createApiToken, createProject, createUser, TEST_DATABASES, testApp } from './testing.ts';

type Message = { type: string; [key: string]: unknown };

/** A client that queues messages so a test can await the next one matching a predicate. */
class TestClient {
  readonly socket: WebSocket;
  readonly messages: Message[] = [];
  #waiters: Array<{ match: (m: Message) => boolean; resolve: (m: Message) => void }> = [];

  constructor(url: string, options?: WebSocket.ClientOptions) {
    this.socket = new WebSocket(url, options);
    this.socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Message;
      const waiter = this.#waiters.find((w) => w.match(message));
      if (waiter) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      } else this.messages.push(message);
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
  }

  closed(): Promise<{ code: number; reason: string }> {
    return new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  next(match: (m: Message) => boolean = () => true, timeoutMs = 2000): Promise<Message> {
    const queued = this.messages.find(match);
    if (queued) {
      this.messages.splice(this.messages.indexOf(queued), 1);
      return Promise.resolve(queued);
    }
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (m: Message) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error('no matching message in time'));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const closed = this.closed();
    this.socket.close();
    await closed;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function liveEvent(projectId: string, type = 'CostUpdate', payload: Record<string, unknown> = {}): LiveEvent {
  return { id: randomUUID(), projectId, agentId: null, type, time: new Date().toISOString(), payload };
}

const isEvent = (id: string) => (m: Message) => m.type === 'event' && (m.event as LiveEvent).id === id;

describe('GET /ws', () => {
  let app: FastifyInstance;
  let base: string;
  let projectA: string;
  let projectB: string;
  let member: { authorization: string };
  const clients: TestClient[] = [];

  const connect = async (query = '', options?: WebSocket.ClientOptions): Promise<TestClient> => {
    const client = new TestClient(`${base}/ws${query}`, options);
    clients.push(client);
    await client.opened();
    return client;
  };
  const tokenOf = (authorization: string) => authorization.slice('Bearer '.length);

  beforeAll(async () => {
    process.env.IRON_WS_HEARTBEAT_MS = '100';
    app = await testApp(await TEST_DATABASES[0]!.url());
    delete process.env.IRON_WS_HEARTBEAT_MS;
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    projectA = await createProject(app);
    projectB = await createProject(app);
    member = await createUser(app, 'member', [projectA]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await app.close();
  });

  it('removes its app.fanout listeners when sockets close (no leak)', async () => {
    const start = app.fanout.listenerCount('event');
    const many = await Promise.all(Array.from({ length: 15 }, () => connect(`?token=${tokenOf(member.authorization)}`)));
    // One shared listener fans out to all sockets.
    expect(app.fanout.listenerCount('event')).toBe(start + 1);
    expect(app.fanout.listenerCount('dropped')).toBe(1);
    await Promise.all(many.map((client) => client.close()));
    for (let i = 0; i < 50 && app.fanout.listenerCount('event') !== start; i++) await sleep(10);
    expect(app.fanout.listenerCount('event')).toBe(start);
    expect(app.fanout.listenerCount('dropped')).toBe(0);
  });

  it('answers a plain GET (no Upgrade) with 426 in the error shape, not an empty 404', async () => {
    const response = await fetch(`${base.replace('ws:', 'http:')}/ws`, { headers: { authorization: member.authorization } });
    expect(response.status).toBe(426);
    expect(response.headers.get('upgrade')).toBe('websocket');
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('IRON_UPGRADE_REQUIRED');
    expect(body.error.message).toMatch(/WebSocket/);
  });

  it('closes with 4401 without a token and with a bad token', async () => {
    for (const query of ['', '?token=nope', '?token=iron_pat_nope']) {
      const client = new TestClient(`${base}/ws${query}`);
      clients.push(client);
      const { code } = await client.closed();
      expect(code).toBe(4401);
    }
  });

  it("sends a member their projects' events, not other projects'", async () => {
    const client = await connect(`?token=${tokenOf(member.authorization)}`);
    const other = liveEvent(projectB);
    const mine = liveEvent(projectA, 'AgentStarted', { name: 'a' });
    app.live.emit('event', other);
    app.live.emit('event', mine);
    const received = await client.next((m) => m.type === 'event');
    expect(received.event).toEqual(mine);
    expect(client.messages.some(isEvent(other.id))).toBe(false);
    await client.close();
  });

  it('accepts the Authorization header too', async () => {
    const client = await connect('', { headers: { authorization: member.authorization } });
    const event = liveEvent(projectA, 'LlmCallCompleted');
    app.live.emit('event', event);
    expect((await client.next(isEvent(event.id))).event).toEqual(event);
    await client.close();
  });

  it('does not forward types outside the live set', async () => {
    const client = await connect(`?token=${tokenOf(member.authorization)}`);
    const hidden = liveEvent(projectA, 'SomethingInternal');
    const shown = liveEvent(projectA, 'PiiAlert');
    app.live.emit('event', hidden);
    app.live.emit('event', shown);
    await client.next(isEvent(shown.id));
    expect(client.messages.some(isEvent(hidden.id))).toBe(false);
    await client.close();
  });

  it("sends an API token its own project's events", async () => {
    const { token } = await createApiToken(app, projectB);
    const client = await connect(`?token=${token}`);
    const other = liveEvent(projectA);
    const mine = liveEvent(projectB, 'BudgetWarning');
    app.live.emit('event', other);
    app.live.emit('event', mine);
    expect((await client.next((m) => m.type === 'event')).event).toEqual(mine);
    await client.close();
  });

  it('narrows the stream with subscribe and widens it with unsubscribe', async () => {
    const admin = await createUser(app, 'admin');
    const client = await connect(`?token=${tokenOf(admin.authorization)}`);
    client.send({ type: 'subscribe', projectId: projectA });
    expect(await client.next((m) => m.type === 'subscribed')).toEqual({ type: 'subscribed', projectId: projectA });
    const b = liveEvent(projectB);
    const a = liveEvent(projectA);
    app.live.emit('event', b);
    app.live.emit('event', a);
    expect((await client.next((m) => m.type === 'event')).event).toEqual(a);

    client.send({ type: 'unsubscribe' });
    await client.next((m) => m.type === 'unsubscribed');
    const b2 = liveEvent(projectB);
    app.live.emit('event', b2);
    expect((await client.next((m) => m.type === 'event')).event).toEqual(b2);
    await client.close();
  });

  it('answers a subscribe to an invisible project with an error message', async () => {
    const client = await connect(`?token=${tokenOf(member.authorization)}`);
    client.send({ type: 'subscribe', projectId: projectB });
    const error = await client.next((m) => m.type === 'error');
    expect(error).toMatchObject({ type: 'error', error: { code: 'IRON_NOT_FOUND' } });
    client.send('not json');
    expect(await client.next((m) => m.type === 'error')).toMatchObject({ error: { code: 'IRON_BAD_REQUEST' } });
    // Still subscribed to everything it may see.
    const a = liveEvent(projectA);
    app.live.emit('event', a);
    await client.next(isEvent(a.id));
    await client.close();
  });

  it('sends heartbeat messages at the configured interval', async () => {
    const client = await connect(`?token=${tokenOf(member.authorization)}`);
    const ping = await client.next((m) => m.type === 'ping', 1000);
    expect(typeof ping.time).toBe('string');
    await client.next((m) => m.type === 'ping', 1000);
    await client.close();
  });

  it('terminates a socket that stops answering protocol pings', async () => {
    const client = await connect(`?token=${tokenOf(member.authorization)}`, { autoPong: false });
    const { code } = await client.closed();
    expect(code).toBe(1006); // terminated, no close frame
  });

  it('drops events for a slow client instead of buffering them, then reports the count', async () => {
    const client = await connect(`?token=${tokenOf(member.authorization)}`);
    // Emitted in one tick: the first megabytes go to the kernel, the rest would queue in the server's memory.
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 200; i++) app.live.emit('event', liveEvent(projectA, 'CostUpdate', { big }));
    const queued = Math.max(...[...app.websocketServer.clients].map((socket) => socket.bufferedAmount));
    expect(queued).toBeGreaterThan(1024 * 1024);
    expect(queued).toBeLessThan(2 * 1024 * 1024); // bounded near the threshold, not the 12 MiB emitted
    // Once drained, the next event comes with a notice of how many were dropped.
    let dropped: Message | undefined;
    for (let i = 0; i < 100 && !dropped; i++) {
      app.live.emit('event', liveEvent(projectA, 'CostUpdate'));
      dropped = await client.next((m) => m.type === 'dropped', 50).catch(() => undefined);
    }
    expect(dropped?.count).toBeGreaterThan(0);
    await client.close();
  });
});

// The poll is set to a minute here: a change made through this server's API must reach its sockets at once, by itself.
/**
 * A listening server for one describe block, whose open sockets are checked again every `revalidateMs`, and a
 * `connect` that opens a socket with a token (closed after the block).
 */
function serverWithSockets(database: (typeof TEST_DATABASES)[number], revalidateMs: number) {
  const server = { app: undefined as unknown as FastifyInstance, base: '' };
  const clients: TestClient[] = [];
  beforeAll(async () => {
    process.env.IRON_WS_REVALIDATE_MS = String(revalidateMs);
    server.app = await testApp(await database.url());
    delete process.env.IRON_WS_REVALIDATE_MS;
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    server.base = `ws://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await server.app.close();
  });
  const connect = async (token: string): Promise<TestClient> => {
    const client = new TestClient(`${server.base}/ws?token=${token}`);
    clients.push(client);
    await client.opened();
    return client;
  };
  return { server, connect };
}

describe.each(TEST_DATABASES)('GET /ws: revocation reaches open sockets at once ($name)', (database) => {
  const { server, connect } = serverWithSockets(database, 60_000);
  let app: FastifyInstance;
  beforeAll(() => void (app = server.app));
  const bearerOf = (authorization: string) => authorization.slice('Bearer '.length);

  it('a revoked API token: the socket closes with 4401 within a second', async () => {
    const project = await createProject(app);
    const admin = await createUser(app, 'admin');
    const { token, id } = await createApiToken(app, project);
    const client = await connect(token);
    const closed = client.closed();
    expect((await app.inject({ method: 'DELETE', url: `/api/tokens/${id}`, headers: { authorization: admin.authorization } })).statusCode).toBe(204);
    const started = Date.now();
    expect(await closed).toMatchObject({ code: 4401, reason: 'the API token was revoked or has expired' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('sockets the server closes (revoked tokens) leave no listener behind: later events reach each client once', async () => {
    const project = await createProject(app);
    const admin = await createUser(app, 'admin');
    const baseline = app.fanout.listenerCount('event');
    for (let i = 0; i < 4; i++) {
      const { token, id } = await createApiToken(app, project);
      const client = await connect(token);
      const closed = client.closed();
      await app.inject({ method: 'DELETE', url: `/api/tokens/${id}`, headers: { authorization: admin.authorization } });
      expect((await closed).code).toBe(4401);
    }
    for (let i = 0; i < 50 && app.fanout.listenerCount('event') !== baseline; i++) await sleep(10);
    expect(app.fanout.listenerCount('event')).toBe(baseline);
    const watcher = await connect((await createApiToken(app, project)).token);
    const event = { id: randomUUID(), projectId: project, agentId: null, type: 'AgentStarted', time: new Date().toISOString(), payload: {} };
    app.live.emit('event', event);
    await watcher.next((m) => m.type === 'event');
    await sleep(200);
    expect(watcher.messages.filter((m) => m.type === 'event')).toHaveLength(0);
  });

  it('a deleted user: closed', async () => {
    const project = await createProject(app);
    const admin = await createUser(app, 'admin');
    const doomed = await createUser(app, 'member', [project]);
    const client = await connect(bearerOf(doomed.authorization));
    const closed = client.closed();
    expect((await app.inject({ method: 'DELETE', url: `/api/users/${doomed.id}`, headers: { authorization: admin.authorization } })).statusCode).toBe(204);
    expect(await closed).toMatchObject({ code: 4401, reason: 'the user was deleted' });
  });

  it("a logout: the socket of that login's access token closes", async () => {
    const member = await createUser(app, 'member', [await createProject(app)]);
    const client = await connect(bearerOf(member.authorization));
    const closed = client.closed();
    expect((await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { authorization: member.authorization }, payload: {} })).statusCode).toBe(204);
    expect(await closed).toMatchObject({ code: 4401, reason: 'the login session ended (logged out, or the password changed)' });
  });

  it('a removed membership: that project’s events stop, and a subscription to it ends', async () => {
    const project = await createProject(app);
    const admin = await createUser(app, 'admin');
    const member = await createUser(app, 'member', [project]);
    const client = await connect(bearerOf(member.authorization));
    client.send({ type: 'subscribe', projectId: project });
    await client.next((m) => m.type === 'subscribed');
    const before = liveEvent(project);
    app.live.emit('event', before);
    await client.next(isEvent(before.id));
    const removed = await app.inject({ method: 'DELETE', url: `/api/projects/${project}/members/${member.id}`, headers: { authorization: admin.authorization } });
    expect(removed.statusCode).toBe(204);
    expect(await client.next((m) => m.type === 'unsubscribed', 3000)).toMatchObject({ reason: 'you are no longer a member of that project' });
    const after = liveEvent(project);
    app.live.emit('event', after);
    await sleep(300);
    expect(client.messages.some(isEvent(after.id))).toBe(false);
  });
});

// Another instance's changes and expiries have no event here: the poll (100 ms in this suite) finds them.
describe.each(TEST_DATABASES)('GET /ws: changes made elsewhere reach open sockets by the poll ($name)', (database) => {
  const { server, connect } = serverWithSockets(database, 100);
  let app: FastifyInstance;
  beforeAll(() => void (app = server.app));

  it('a token revoked and a membership removed in the database, not through this server: closed, unsubscribed', async () => {
    const project = await createProject(app);
    const { token, id } = await createApiToken(app, project);
    const tokenClient = await connect(token);
    const tokenClosed = tokenClient.closed();
    const member = await createUser(app, 'member', [project]);
    const memberClient = await connect(member.authorization.slice('Bearer '.length));
    memberClient.send({ type: 'subscribe', projectId: project });
    await memberClient.next((m) => m.type === 'subscribed');
    const em = app.orm.em.fork();
    await em.nativeUpdate(ApiToken, { id }, { revokedAt: new Date() });
    await em.nativeDelete(Membership, { projectId: project, userId: member.id });
    expect(await tokenClosed).toMatchObject({ code: 4401, reason: 'the API token was revoked or has expired' });
    expect(await memberClient.next((m) => m.type === 'unsubscribed', 3000)).toMatchObject({ reason: 'you are no longer a member of that project' });
  });

  it('an expired access token: closed', async () => {
    const member = await createUser(app, 'member', [await createProject(app)]);
    const shortLived = await app.accessTokens.sign({ sub: member.id, role: 'member', sid: member.sid }, 1);
    const expiring = await connect(shortLived);
    expect(await expiring.closed()).toMatchObject({ code: 4401, reason: 'the access token expired: refresh it and reconnect' });
  });
});

describe.each(TEST_DATABASES)('GET /ws: a socket that opens while the poll checks the others ($name)', (database) => {
  // A poll every 5 ms: the checks run nearly without a break, so sockets open while one is under way.
  const { server, connect } = serverWithSockets(database, 5);

  it('stays open (one the check had not read was closed as "the user was deleted")', async () => {
    const app = server.app;
    const closes: Array<{ code: number; reason: string }> = [];
    for (let i = 0; i < 3; i++) {
      const member = await createUser(app, 'member', [await createProject(app)]);
      for (let k = 0; k < 12; k++) {
        const client = await connect(member.authorization.slice('Bearer '.length));
        void client.closed().then((close) => closes.push(close));
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(closes).toEqual([]);
  });
});

describe('GET /ws: limits', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    process.env.IRON_WS_MAX_PER_PRINCIPAL = '3';
    process.env.IRON_WS_MAX_PER_PROJECT = '5';
    app = await testApp(await TEST_DATABASES[0]!.url());
    delete process.env.IRON_WS_MAX_PER_PRINCIPAL;
    delete process.env.IRON_WS_MAX_PER_PROJECT;
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => app.close());

  it('a credential holds a bounded number of sockets, and a huge frame closes its socket without growing the server', async () => {
    const project = await createProject(app);
    const { token } = await createApiToken(app, project);
    const open: TestClient[] = [];
    for (let i = 0; i < 3; i++) {
      const client = new TestClient(`${base}/ws?token=${token}`);
      await client.opened();
      open.push(client);
    }
    const fourth = new TestClient(`${base}/ws?token=${token}`);
    expect(await fourth.closed()).toMatchObject({ code: 4429 });
    // Another credential is not affected.
    const other = new TestClient(`${base}/ws?token=${(await createApiToken(app, project)).token}`);
    await other.opened();
    const rss = process.memoryUsage().rss;
    const closed = other.closed();
    other.socket.send(Buffer.alloc(8 * 1024 * 1024, 'x'));
    expect((await closed).code).toBe(1009); // message too big
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
    await Promise.all(open.map((client) => client.close()));
  });

  it("minting more API tokens does not buy more sockets: one project's tokens together hold a bounded number", async () => {
    const project = await createProject(app);
    const open: TestClient[] = [];
    for (let i = 0; i < 5; i++) {
      const client = new TestClient(`${base}/ws?token=${(await createApiToken(app, project)).token}`);
      await client.opened();
      open.push(client);
    }
    const sixth = new TestClient(`${base}/ws?token=${(await createApiToken(app, project)).token}`);
    expect(await sixth.closed()).toMatchObject({ code: 4429, reason: expect.stringContaining("this project's API tokens") });
    // Another project's tokens are not affected.
    const elsewhere = new TestClient(`${base}/ws?token=${(await createApiToken(app, await createProject(app))).token}`);
    await elsewhere.opened();
    await Promise.all([...open, elsewhere].map((client) => client.close()));
  });
});
