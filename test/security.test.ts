// Issue 17's security review, replayed from outside: each server-side finding performed as an attack on a real
// `iron server` process over HTTP and WebSocket (SQLite file; PostgreSQL too with IRON_TEST_PG_URL), asserting the
// safe outcome. The same attacks are tested in depth beside the code; the runtime-side findings run against real
// `iron run` and process agents:
//   H2 agent reads /proc/*/environ, cmdline ........ test/cli-user.test.ts "credentials a hostile agent cannot reach",
//                                                     test/process-agents.test.ts (every secret out of the environment)
//   M5 OpenAI-Organization / OpenAI-Project ......... test/gateway.test.ts "a hostile agent at the gateway"
//   M6 200,000-level JSON trips the breaker .......... test/gateway.test.ts (400, breaker closed, no upstream URL)
//   Low: 11 MiB gateway body, "stream":"yes" ........ test/gateway.test.ts
//   route × schema fuzz (no 5xx, one error shape) .... server/fuzz.test.ts;  /health p99 in a storm: bench/webhooks.bench.ts
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASES } from '../server/testing.ts';
import { freePort, startIronServer } from './helpers.ts';

const ADMIN = { email: 'security@example.com', password: 'a long security password' };
const MEMBER_PASSWORD = 'a long member password';

describe.each(TEST_DATABASES)('the security review, replayed against `iron server` ($name)', (database) => {
  let server: ChildProcess;
  let url: string;
  let dir: string;
  let db: string;
  let keyFile: string;
  let admin: string;

  const call = async (path: string, init: { method?: string; body?: unknown; authorization?: string; headers?: Record<string, string> } = {}) => {
    const response = await fetch(`${url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(init.authorization ? { authorization: init.authorization } : {}), ...init.headers },
      ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    });
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, json, text };
  };
  const login = async (email: string, password: string) => (await call('/api/auth/login', { body: { email, password } })).json as { accessToken: string; refreshToken: string };
  /** A project with a member (logged in) and an API token the member made. */
  const team = async () => {
    const projectId = (await call('/api/projects', { authorization: admin, body: { name: `p-${randomUUID().slice(0, 8)}` } })).json.id as string;
    const email = `member-${randomUUID().slice(0, 8)}@example.com`;
    const userId = (await call('/api/users', { authorization: admin, body: { email, password: MEMBER_PASSWORD, role: 'member', projectIds: [projectId] } })).json.id as string;
    const session = await login(email, MEMBER_PASSWORD);
    const member = `Bearer ${session.accessToken}`;
    const created = (await call('/api/tokens', { authorization: member, body: { name: 'runtime', projectId } })).json;
    return { projectId, userId, email, member, session, token: created.token as string, tokenId: created.id as string };
  };
  const alert = (agentId = randomUUID()) => ({ id: randomUUID(), type: 'PiiAlert', time: new Date().toISOString(), agentId, callId: randomUUID(), direction: 'input', entityType: 'EMAIL_ADDRESS', count: 1, action: 'redact', valueHashes: ['0123456789abcdef'] });
  const ingest = (token: string, events: unknown[]) => call('/api/events', { authorization: `Bearer ${token}`, body: { events } });
  const errorShape = { error: { code: expect.stringMatching(/^IRON_/), message: expect.any(String) } };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iron-security-'));
    db = database.name === 'sqlite' ? join(dir, 'iron.db') : await database.url();
    keyFile = database.name === 'sqlite' ? `${db}.key` : join(dir, 'server.key');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = await startIronServer(db, port, { IRON_ADMIN_EMAIL: ADMIN.email, IRON_ADMIN_PASSWORD: ADMIN.password, IRON_LOGIN_RATE_LIMIT: '1000', ...(database.name === 'sqlite' ? {} : { IRON_KEY_FILE: keyFile }) });
    admin = `Bearer ${(await login(ADMIN.email, ADMIN.password)).accessToken}`;
  }, 60_000);
  afterAll(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
  });

  it('M3: webhooks only to public https targets; loopback, private, link-local and plain http are refused', async () => {
    const { projectId, member } = await team();
    for (const target of ['https://127.0.0.1/x', 'https://localhost/x', 'https://10.0.0.8/x', 'https://172.16.0.1/x', 'https://192.168.0.1/x', 'https://169.254.169.254/latest', 'https://[::1]/x', 'http://hooks.example.com/x']) {
      const response = await call('/api/webhooks', { authorization: member, body: { projectId, url: target, events: ['PiiAlert'] } });
      expect([target, response.status]).toEqual([target, 400]);
      expect(response.json).toMatchObject(errorShape);
    }
  });

  it('M2: out-of-range events are rejected alone, the rest of their batch is stored, and every page still answers', async () => {
    const { token } = await team();
    const agentId = randomUUID();
    const good = { id: randomUUID(), type: 'AgentStarted', time: new Date().toISOString(), agentId, name: 'fine' };
    const hostile = [
      { id: randomUUID(), type: 'CostUpdate', time: new Date().toISOString(), agentId, callId: randomUUID(), costUsd: 1e308 },
      { id: randomUUID(), type: 'AgentStarted', time: '+010000-01-01T00:00:00.000Z', agentId, name: 'year 10000' },
      { id: randomUUID(), type: 'AgentStarted', time: '0000-01-01T00:00:00.000Z', agentId, name: 'year 0' },
      { id: randomUUID(), type: 'AgentStarted', time: new Date().toISOString(), agentId, name: 'nul\u0000' },
    ];
    const response = await ingest(token, [good, ...hostile]);
    expect(response.status).toBe(200);
    expect(response.json.accepted).toBe(1);
    expect(response.json.rejected.map((r: { index: number }) => r.index)).toEqual([1, 2, 3, 4]);
    for (const path of ['/api/limits', '/api/agents', '/api/traces', `/api/agents/${agentId}`, '/api/alerts', '/api/usage/aggregate']) {
      expect([path, (await call(path, { authorization: admin })).status]).toEqual([path, 200]);
    }
  });

  it('M4: an access token ends with its login (logout, password change); a deleted user\'s API tokens stop working', async () => {
    const { userId, email, member, session, token } = await team();
    expect((await call('/api/auth/me', { authorization: member })).status).toBe(200);
    expect((await call('/api/auth/logout', { authorization: member, body: { refreshToken: session.refreshToken } })).status).toBe(204);
    expect((await call('/api/auth/me', { authorization: member })).status).toBe(401);
    const again = `Bearer ${(await login(email, MEMBER_PASSWORD)).accessToken}`;
    expect((await call(`/api/users/${userId}`, { method: 'PATCH', authorization: admin, body: { password: 'another long password' } })).status).toBe(200);
    expect((await call('/api/auth/me', { authorization: again })).status).toBe(401);
    expect((await ingest(token, [alert()])).status).toBe(200);
    expect((await call(`/api/users/${userId}`, { method: 'DELETE', authorization: admin })).status).toBe(204);
    const after = await ingest(token, [alert()]);
    expect(after.status).toBe(401);
    expect(after.json).toMatchObject(errorShape);
  });

  it('M7: failed logins slow the address down but never lock the rightful user out', async () => {
    const { email } = await team();
    for (let i = 0; i < 6; i++) expect((await call('/api/auth/login', { body: { email, password: `wrong ${i}` } })).status).toBeOneOf([401, 429]);
    const slowed = await call('/api/auth/login', { body: { email, password: MEMBER_PASSWORD } });
    expect(slowed.status).toBe(429);
    const wait = Number(slowed.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(8);
    // Not a 15-minute lock: once the address has waited, the right password works.
    await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 200));
    expect((await call('/api/auth/login', { body: { email, password: MEMBER_PASSWORD } })).status).toBe(200);
  });

  it('M8: the key is not in the database and its file is 0600 (the database file too); tokens without exp or for another audience are refused', async () => {
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    if (database.name === 'sqlite') expect(statSync(db).mode & 0o777).toBe(0o600);
    const key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64url');
    const claims = JSON.parse(Buffer.from(admin.slice(7).split('.')[1]!, 'base64url').toString()) as { sub: string; sid: string; role: string };
    const forge = () => new SignJWT({ role: claims.role, sid: claims.sid }).setProtectedHeader({ alg: 'HS256' }).setSubject(claims.sub).setIssuer('iron-cage').setIssuedAt();
    // With the server's own key: each token below fails on one claim alone.
    expect((await call('/api/auth/me', { authorization: `Bearer ${await forge().setAudience('iron-cage-api').setExpirationTime('5m').sign(key)}` })).status).toBe(200);
    expect((await call('/api/auth/me', { authorization: `Bearer ${await forge().setAudience('iron-cage-api').sign(key)}` })).status).toBe(401);
    expect((await call('/api/auth/me', { authorization: `Bearer ${await forge().setAudience('another-service').setExpirationTime('5m').sign(key)}` })).status).toBe(401);
    // The webhook signing secret, shown once, is stored sealed: the database never holds it in clear.
    const { projectId, member } = await team();
    const hook = (await call('/api/webhooks', { authorization: member, body: { projectId, url: 'https://hooks.example.com/iron', events: ['PiiAlert'] } })).json;
    expect(hook.secret).toMatch(/\S{16,}/);
    const stored = database.name === 'sqlite'
      ? readFileSync(db).toString('latin1') + (statSync(`${db}-wal`, { throwIfNoEntry: false }) ? readFileSync(`${db}-wal`).toString('latin1') : '')
      : JSON.stringify((await pgRows(db, 'select * from webhooks')));
    expect(stored).not.toContain(hook.secret);
    expect(stored).not.toContain(key.toString('base64url'));
  });

  it('Low: odd input gets a 400 in the one error shape, never a 500; tokens only in headers; no caching of tokens', async () => {
    const { token } = await team();
    for (const path of ['/api/agents?limit=Infinity', '/api/agents?offset=1e20', '/api/traces?q=%00x', '/api/%E0%A4%A']) {
      const response = await call(path, { authorization: admin });
      expect([path, response.status]).toEqual([path, 400]);
      expect(response.json).toMatchObject(errorShape);
    }
    // A long path (the router's 414) and one over Node's 16 KiB header limit (refused by the HTTP parser itself).
    for (const [length, status] of [[10_000, 414], [100_000, 431]] as const) {
      const response = await call(`/api/agents/${'a'.repeat(length)}`, { authorization: admin });
      expect([length, response.status]).toEqual([length, status]);
      expect(response.json).toMatchObject(errorShape);
      expect(response.text.length).toBeLessThan(1000);
    }
    for (const name of ['a\u0000b', 'lone \ud800']) {
      const response = await call('/api/projects', { authorization: admin, body: `{"name":${JSON.stringify(name)}}` });
      expect(response.status).toBe(400);
      expect(response.json).toMatchObject(errorShape);
    }
    // An anonymous 8 MiB body is refused before it is read.
    const started = performance.now();
    const anonymous = await call('/api/events', { body: `{"events":[${'{"x":1},'.repeat(1_000_000)}{}]}` });
    expect(anonymous.status).toBe(401);
    expect(performance.now() - started).toBeLessThan(3000);
    // A token in the query string is no REST credential; the scheme is any case; login answers are never cached.
    const access = admin.slice(7);
    expect((await call(`/api/auth/me?token=${access}`)).status).toBe(401);
    expect((await call('/api/auth/me', { authorization: `bearer ${access}` })).status).toBe(200);
    const signIn = await call('/api/auth/login', { body: ADMIN });
    expect(signIn.headers.get('cache-control')).toBe('no-store');
    // Another project's event id is this batch's rejection, not a silent duplicate.
    const event = alert();
    expect((await ingest(token, [event])).json).toMatchObject({ accepted: 1 });
    const other = await team();
    const reuse = await ingest(other.token, [event]);
    expect(reuse.json).toMatchObject({ accepted: 0, duplicates: 0, rejected: [{ index: 0 }] });
    // Prompt bodies under any name are dropped when the project does not store prompts.
    const agentId = randomUUID();
    const started2 = { id: randomUUID(), type: 'LlmCallStarted', time: new Date().toISOString(), agentId, callId: randomUUID(), model: 'gpt-4o-mini', input: 'secret-input', system: 'secret-system', output: 'secret-output', request: { messages: [{ role: 'user', content: 'secret-nested' }] } };
    expect((await ingest(token, [started2])).status).toBe(200);
    const trace = await call(`/api/traces/${agentId}`, { authorization: admin });
    expect(trace.status).toBe(200);
    expect(trace.text).not.toContain('secret-');
  });

  it('M1: open sockets lose a removed membership within a second and close when the token is revoked', async () => {
    const { projectId, userId, member, token, tokenId } = await team();
    const wsUrl = url.replace('http', 'ws');
    const open = (credential: string) =>
      new Promise<{ socket: WebSocket; messages: any[]; closed: Promise<number> }>((resolve, reject) => {
        const socket = new WebSocket(`${wsUrl}/ws`, { headers: { authorization: `Bearer ${credential}` } });
        const messages: any[] = [];
        const closed = new Promise<number>((done) => socket.on('close', (code) => done(code)));
        socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
        socket.on('open', () => resolve({ socket, messages, closed }));
        socket.on('error', reject);
      });
    const person = await open(member.slice(7));
    const runtime = await open(token);
    const seen = (messages: any[], id: string) => messages.some((m) => JSON.stringify(m).includes(id));
    const first = alert();
    expect((await ingest(token, [first])).status).toBe(200);
    await expect.poll(() => seen(person.messages, first.id) && seen(runtime.messages, first.id)).toBe(true);
    // The member is removed: within a second that project's events stop reaching their socket.
    expect((await call(`/api/projects/${projectId}/members/${userId}`, { method: 'DELETE', authorization: admin })).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const second = alert();
    expect((await ingest(token, [second])).status).toBe(200);
    await expect.poll(() => seen(runtime.messages, second.id)).toBe(true);
    expect(seen(person.messages, second.id)).toBe(false);
    // The API token is revoked: its socket closes (4401) within a second or so.
    const revokedAt = Date.now();
    expect((await call(`/api/tokens/${tokenId}`, { method: 'DELETE', authorization: admin })).status).toBe(204);
    expect(await runtime.closed).toBe(4401);
    expect(Date.now() - revokedAt).toBeLessThan(2500);
    person.socket.close();
  });

  it('H1: a member fills 10 webhooks with 10,000 failing deliveries in one batch; /health stays fast, memory bounded, SIGTERM obeyed', async () => {
    const { projectId, member, token } = await team();
    // hooks.invalid never resolves (RFC 6761): every attempt fails, as with a dead URL.
    for (let i = 0; i < 10; i++) expect((await call('/api/webhooks', { authorization: member, body: { projectId, url: `https://hooks-${i}.invalid/x`, events: ['PiiAlert'] } })).status).toBe(201);
    const eleventh = await call('/api/webhooks', { authorization: member, body: { projectId, url: 'https://hooks-10.invalid/x', events: ['PiiAlert'] } });
    expect(eleventh.status).toBe(409);
    expect(eleventh.json).toMatchObject(errorShape);
    const rssBefore = rss(server.pid!);
    expect((await ingest(token, Array.from({ length: 1000 }, () => alert()))).status).toBe(200);
    const latencies: number[] = [];
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      const started = performance.now();
      expect((await fetch(`${url}/health`)).status).toBe(200);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)]!;
    // The bench holds the 50 ms target on a quiet machine; here other test files share the two cores.
    expect(p99, `p99 ${p99.toFixed(1)} ms over ${latencies.length} checks`).toBeLessThan(250);
    expect(rss(server.pid!) - rssBefore).toBeLessThan(200 * 1024 * 1024);
    // The deliveries are queued and failing, each with its error, not retried in a burst.
    const hooks = (await call(`/api/webhooks?projectId=${projectId}`, { authorization: member })).json.webhooks as Array<{ id: string }>;
    const deliveries = (await call(`/api/webhooks/${hooks[0]!.id}/deliveries`, { authorization: member })).json.deliveries as Array<{ status: string; lastError: string | null }>;
    expect(deliveries.length).toBeGreaterThan(0);
    const stopping = Date.now();
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(Date.now() - stopping).toBeLessThan(5000);
  }, 60_000);
});

function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

async function pgRows(url: string, sql: string): Promise<unknown[]> {
  const { default: pg } = await import('pg');
  const schema = new URL(url).searchParams.get('schema');
  const client = new pg.Client({ connectionString: url.replace(/[?&]schema=[^&]+/, '') });
  await client.connect();
  try {
    if (schema) await client.query(`set search_path to ${schema}`);
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}
