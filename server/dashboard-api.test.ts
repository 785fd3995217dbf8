// What the dashboard needs from the server, on every test database: the refresh cookie flow, the alerts feed (with
// agent names), trace search, run outcomes and call costs, and the built app served at its routes (with the API's
// 404s left alone).
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, createApiToken, createProject, createUser, TEST_DATABASES, testApp } from './testing.ts';

/** A stand-in build: an index.html and one hashed asset, as Vite writes them. */
function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'iron-dashboard-build-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="app"></div><script type="module" src="/assets/index-abc123.js"></script>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.info("app")');
  return dir;
}

function cookieFrom(setCookie: string | string[] | undefined): { value: string; attributes: string } | undefined {
  const line = [setCookie ?? []].flat().find((header) => header.startsWith('iron_refresh='));
  if (!line) return undefined;
  const [pair, ...attributes] = line.split(';');
  return { value: pair!.slice('iron_refresh='.length), attributes: attributes.join(';').trim() };
}

describe.each(TEST_DATABASES)('dashboard API support ($name)', ({ url }) => {
  let app: FastifyInstance;
  let buildDir: string;

  beforeEach(async () => {
    buildDir = fakeBuild();
    app = await testApp(await url(), { dashboardDir: buildDir });
  });
  afterEach(async () => app.close());

  describe('refresh cookie', () => {
    const login = () => app.inject({ method: 'POST', url: '/api/auth/login', payload: { ...ADMIN, cookie: true } });

    it('login with cookie: true keeps the refresh token out of the body, in an HttpOnly SameSite=Strict cookie', async () => {
      const response = await login();
      expect(response.statusCode).toBe(200);
      expect(response.json().refreshToken).toBeUndefined();
      expect(response.json().accessToken).toEqual(expect.any(String));
      const cookie = cookieFrom(response.headers['set-cookie']);
      expect(cookie?.value).toMatch(/^iron_rt_/);
      expect(cookie?.attributes).toContain('HttpOnly');
      expect(cookie?.attributes).toContain('SameSite=Strict');
      expect(cookie?.attributes).toContain('Path=/api/auth');
      // Plain HTTP here: a Secure cookie would never come back over it.
      expect(cookie?.attributes).not.toContain('Secure');
    });

    it('refresh from the cookie rotates it; the old cookie then revokes the login', async () => {
      const first = cookieFrom((await login()).headers['set-cookie'])!;
      const refreshed = await app.inject({ method: 'POST', url: '/api/auth/refresh', payload: {}, cookies: { iron_refresh: first.value } });
      expect(refreshed.statusCode).toBe(200);
      expect(refreshed.json().refreshToken).toBeUndefined();
      const second = cookieFrom(refreshed.headers['set-cookie'])!;
      expect(second.value).not.toBe(first.value);

      const reused = await app.inject({ method: 'POST', url: '/api/auth/refresh', payload: {}, cookies: { iron_refresh: first.value } });
      expect(reused.statusCode).toBe(401);
      // Reuse of a rotated token ended the whole family, the newest cookie included.
      const after = await app.inject({ method: 'POST', url: '/api/auth/refresh', payload: {}, cookies: { iron_refresh: second.value } });
      expect(after.statusCode).toBe(401);
    });

    it('refresh with neither body token nor cookie is a 401 that says what to send', async () => {
      const response = await app.inject({ method: 'POST', url: '/api/auth/refresh', payload: {} });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.message).toContain('iron_refresh');
    });

    it('logout with the cookie ends the session and clears the cookie', async () => {
      const response = await login();
      const cookie = cookieFrom(response.headers['set-cookie'])!;
      const out = await app.inject({ method: 'POST', url: '/api/auth/logout', payload: {}, cookies: { iron_refresh: cookie.value }, headers: { authorization: `Bearer ${response.json().accessToken}` } });
      expect(out.statusCode).toBe(204);
      expect(cookieFrom(out.headers['set-cookie'])?.value).toBe('');
      const again = await app.inject({ method: 'POST', url: '/api/auth/refresh', payload: {}, cookies: { iron_refresh: cookie.value } });
      expect(again.statusCode).toBe(401);
    });

    it('body tokens work as before (scripts and CLIs)', async () => {
      const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN });
      expect(response.json().refreshToken).toMatch(/^iron_rt_/);
      expect(cookieFrom(response.headers['set-cookie'])).toBeUndefined();
      const refreshed = await app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken: response.json().refreshToken } });
      expect(refreshed.json().refreshToken).toMatch(/^iron_rt_/);
    });
  });

  describe('alerts and trace search', () => {
    let projectId: string;
    let otherProject: string;
    let admin: string;
    const now = Date.now();

    const post = async (project: string, events: unknown[]) => {
      const { token } = await createApiToken(app, project);
      const response = await app.inject({ method: 'POST', url: '/api/events', headers: { authorization: `Bearer ${token}` }, payload: { events } });
      expect(response.statusCode, response.body).toBe(200);
    };
    const ev = (agentId: string, type: string, ageMs: number, fields: Record<string, unknown> = {}) => ({ id: randomUUID(), type, time: now - ageMs, agentId, ...fields });

    beforeEach(async () => {
      projectId = await createProject(app);
      otherProject = await createProject(app);
      admin = (await createUser(app, 'admin')).authorization;
      const a = randomUUID();
      const b = randomUUID();
      await post(projectId, [
        ev(a, 'AgentStarted', 60_000, { name: 'Invoice-Summarizer', kind: 'in-process' }),
        ev(a, 'PiiAlert', 50_000, { callId: 'c1', direction: 'request', entityType: 'EMAIL_ADDRESS', count: 1, action: 'pseudonymize', valueHashes: ['x'] }),
        ev(a, 'BudgetWarning', 40_000, { scope: 'agent', name: a, thresholdPct: 80, spentUsd: 0.8, limitUsd: 1 }),
        ev(a, 'CostUpdate', 40_000, { callId: 'c1', provider: 'openai', model: 'gpt-4o-mini', costUsd: 0.1, usage: {}, estimated: false, priced: true }),
        // Two days old: outside the default 24 hours.
        ev(a, 'PiiAlert', 2 * 86_400_000, { callId: 'c0', direction: 'request', entityType: 'PHONE_NUMBER', count: 1, action: 'redact', valueHashes: ['y'] }),
        ev(b, 'AgentStarted', 30_000, { name: 'mail_100%_bot', kind: 'process' }),
      ]);
      await post(otherProject, [ev(randomUUID(), 'CircuitOpened', 10_000, { provider: 'openai', model: 'gpt-4o', cooldownMs: 30_000, reason: '5 failures' })]);
    });

    it('lists alert events newest first with counts per type over the last 24 hours', async () => {
      const body = (await app.inject({ url: '/api/alerts', headers: { authorization: admin } })).json();
      expect(body.items.map((item: { type: string }) => item.type)).toEqual(['CircuitOpened', 'BudgetWarning', 'PiiAlert']);
      expect(body.counts).toEqual({ CircuitOpened: 1, BudgetWarning: 1, PiiAlert: 1 });
      expect(body.items[2]).toMatchObject({ projectId, type: 'PiiAlert', payload: { entityType: 'EMAIL_ADDRESS', count: 1 } });
    });

    it('filters by type, project and window; members see only their projects', async () => {
      const only = (await app.inject({ url: `/api/alerts?type=PiiAlert&since=${new Date(now - 3 * 86_400_000).toISOString()}`, headers: { authorization: admin } })).json();
      expect(only.items.map((item: { payload: { entityType: string } }) => item.payload.entityType)).toEqual(['EMAIL_ADDRESS', 'PHONE_NUMBER']);
      expect(only.counts).toEqual({ PiiAlert: 2 });
      const member = await createUser(app, 'member', [projectId]);
      const mine = (await app.inject({ url: '/api/alerts', headers: { authorization: member.authorization } })).json();
      expect(mine.items.map((item: { type: string }) => item.type)).toEqual(['BudgetWarning', 'PiiAlert']);
      const foreign = await app.inject({ url: `/api/alerts?projectId=${otherProject}`, headers: { authorization: member.authorization } });
      expect(foreign.statusCode).toBe(404);
    });

    it("names each alert's agent (agentName), null for an alert with no agent", async () => {
      await post(projectId, [{ id: randomUUID(), type: 'CircuitOpened', time: now - 5_000, provider: 'anthropic', model: 'claude-haiku', cooldownMs: 1000, reason: 'down' }]);
      const body = (await app.inject({ url: `/api/alerts?projectId=${projectId}`, headers: { authorization: admin } })).json();
      expect(body.items.map((item: { type: string; agentName: string | null }) => [item.type, item.agentName])).toEqual([
        ['CircuitOpened', null],
        ['BudgetWarning', 'Invoice-Summarizer'],
        ['PiiAlert', 'Invoice-Summarizer'],
      ]);
      expect(body.items[0].agentId).toBeNull();
    });

    it('refuses a window that ends before it starts, unknown types, and anonymous callers', async () => {
      const backwards = await app.inject({ url: `/api/alerts?since=${new Date(now).toISOString()}&until=${new Date(now - 1000).toISOString()}`, headers: { authorization: admin } });
      expect(backwards.statusCode).toBe(400);
      expect(backwards.json().error.message).toContain('since');
      const unknown = await app.inject({ url: '/api/alerts?type=CostUpdate', headers: { authorization: admin } });
      expect(unknown.statusCode).toBe(400);
      expect((await app.inject({ url: '/api/alerts' })).statusCode).toBe(401);
    });

    it('searches traces by part of the name in any case, with LIKE wildcards taken literally', async () => {
      const search = async (q: string) =>
        (await app.inject({ url: `/api/traces?q=${encodeURIComponent(q)}`, headers: { authorization: admin } })).json().items.map((item: { name: string }) => item.name);
      expect(await search('invoice')).toEqual(['Invoice-Summarizer']);
      expect(await search('SUMMAR')).toEqual(['Invoice-Summarizer']);
      expect(await search('100%')).toEqual(['mail_100%_bot']);
      expect(await search('%')).toEqual(['mail_100%_bot']);
      expect(await search('l_1')).toEqual(['mail_100%_bot']);
      expect(await search('nothing')).toEqual([]);
    });
  });

  describe('run outcomes and call costs', () => {
    let projectId: string;
    let admin: string;
    const T = Date.now() - 60_000;
    const ids: Record<string, string> = {};

    /** A run that made one call (`failed` or not) and ended with `status` (no AgentStopped: still running). */
    const runEvents = (name: string, status: string | null, failedCall: boolean) => {
      const agentId = randomUUID();
      ids[name] = agentId;
      const ev = (type: string, offset: number, fields: Record<string, unknown> = {}) => ({ id: randomUUID(), type, time: T + offset, agentId, ...fields });
      return [
        ev('AgentStarted', 0, { name, kind: 'in-process' }),
        failedCall
          ? ev('LlmCallFailed', 10, { callId: randomUUID(), provider: 'openai', model: 'gpt-4o-mini', stream: false, latencyMs: 3, error: { code: 'IRON_BUDGET_EXCEEDED', message: 'refused' } })
          : ev('LlmCallCompleted', 10, { callId: randomUUID(), provider: 'openai', model: 'gpt-4o-mini', stream: false, latencyMs: 21.3, usage: { inputTokens: 5, outputTokens: 5 } }),
        ...(status ? [ev('AgentStopped', 20, { status })] : []),
      ];
    };

    beforeEach(async () => {
      projectId = await createProject(app);
      admin = (await createUser(app, 'admin')).authorization;
      const { token } = await createApiToken(app, projectId);
      const events = [
        ...runEvents('completed-clean', 'completed', false),
        ...runEvents('completed-caught-refusal', 'completed', true),
        ...runEvents('still-running', null, false),
        ...runEvents('stopped-by-hand', 'stopped', false),
        ...runEvents('crashed', 'failed', false),
        ...runEvents('over-budget', 'budget_exceeded', true),
        ...runEvents('lost-contact', 'lost', false),
      ];
      const response = await app.inject({ method: 'POST', url: '/api/events', headers: { authorization: `Bearer ${token}` }, payload: { events } });
      expect(response.statusCode, response.body).toBe(200);
    });

    const list = async (query = '') => {
      const response = await app.inject({ url: `/api/traces?projectId=${projectId}${query}`, headers: { authorization: admin } });
      expect(response.statusCode, response.body).toBe(200);
      return Object.fromEntries(response.json().items.map((item: { name: string; outcome: string; failedCalls: number }) => [item.name, `${item.outcome}/${item.failedCalls}`]));
    };

    it("follows only how the agent ended: a completed run with a failed call is ok, its failed call counted apart", async () => {
      expect(await list()).toEqual({
        'completed-clean': 'ok/0',
        'completed-caught-refusal': 'ok/1',
        'still-running': 'running/0',
        'stopped-by-hand': 'stopped/0',
        crashed: 'failed/0',
        'over-budget': 'failed/1',
        'lost-contact': 'failed/0',
      });
      const detail = (await app.inject({ url: `/api/traces/${ids['completed-caught-refusal']}`, headers: { authorization: admin } })).json();
      expect(detail.run).toMatchObject({ outcome: 'ok', status: 'completed', calls: 1, failedCalls: 1 });
    });

    it('filters by that outcome, and separately by failed calls', async () => {
      expect(Object.keys(await list('&status=ok')).sort()).toEqual(['completed-caught-refusal', 'completed-clean']);
      expect(Object.keys(await list('&status=failed')).sort()).toEqual(['crashed', 'lost-contact', 'over-budget']);
      expect(Object.keys(await list('&status=running'))).toEqual(['still-running']);
      expect(Object.keys(await list('&status=stopped'))).toEqual(['stopped-by-hand']);
      expect(Object.keys(await list('&withFailedCalls=true')).sort()).toEqual(['completed-caught-refusal', 'over-budget']);
      expect(Object.keys(await list('&status=ok&withFailedCalls=true'))).toEqual(['completed-caught-refusal']);
      expect(Object.keys(await list('&status=ok&withFailedCalls=false'))).toEqual(['completed-clean']);
      // The outcome "errors" of before is no outcome now: a 400 naming the parameter.
      const old = await app.inject({ url: '/api/traces?status=errors', headers: { authorization: admin } });
      expect(old.statusCode).toBe(400);
      expect(old.json().error.message).toContain('status');
    });

    it('tells a priced cost from an unpriced call and from a call with no cost recorded', async () => {
      const agentId = randomUUID();
      const call = { priced: randomUUID(), tiny: randomUUID(), free: randomUUID(), unpriced: randomUUID(), refused: randomUUID() };
      const ev = (type: string, offset: number, fields: Record<string, unknown> = {}) => ({ id: randomUUID(), type, time: T + offset, agentId, ...fields });
      const done = (callId: string, offset: number) => ev('LlmCallCompleted', offset, { callId, provider: 'openai', model: 'm', stream: false, latencyMs: 5, usage: { inputTokens: 1, outputTokens: 1 } });
      const cost = (callId: string, offset: number, costUsd: number, priced: boolean) => ev('CostUpdate', offset, { callId, provider: 'openai', model: 'm', costUsd, usage: {}, estimated: false, priced });
      const { token } = await createApiToken(app, projectId);
      const events = [
        ev('AgentStarted', 0, { name: 'costs', kind: 'in-process' }),
        done(call.priced, 10), cost(call.priced, 11, 0.0125, true),
        done(call.tiny, 20), cost(call.tiny, 21, 0.000031, true),
        done(call.free, 30), cost(call.free, 31, 0, true),
        done(call.unpriced, 40), cost(call.unpriced, 41, 0, false),
        ev('LlmCallFailed', 50, { callId: call.refused, provider: 'openai', model: 'm', stream: false, latencyMs: 1, error: { code: 'IRON_BUDGET_EXCEEDED', message: 'refused' } }),
      ];
      expect((await app.inject({ method: 'POST', url: '/api/events', headers: { authorization: `Bearer ${token}` }, payload: { events } })).statusCode).toBe(200);
      const detail = (await app.inject({ url: `/api/traces/${agentId}`, headers: { authorization: admin } })).json();
      expect(detail.calls.map((c: { id: string; costUsd: number | null; unpriced: boolean }) => [c.id, c.costUsd, c.unpriced])).toEqual([
        [call.priced, 0.0125, false],
        [call.tiny, 0.000031, false],
        [call.free, 0, false],
        [call.unpriced, null, true],
        [call.refused, null, false],
      ]);
    });
  });

  describe('the built app', () => {
    it('serves index.html at every app route with a strict CSP, and hashed assets cached for good', async () => {
      for (const path of ['/', '/agents', '/agents/123', '/traces/abc', '/login', '/users']) {
        const response = await app.inject({ url: path });
        expect(response.statusCode, path).toBe(200);
        expect(response.headers['content-type']).toContain('text/html');
        expect(response.body).toContain('<div id="app">');
        expect(response.headers['content-security-policy']).toContain("script-src 'self'");
        expect(response.headers['cache-control']).toBe('no-cache');
      }
      const asset = await app.inject({ url: '/assets/index-abc123.js' });
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['cache-control']).toContain('immutable');
    });

    it('leaves the API alone: unknown API paths are JSON 404s, not the app', async () => {
      const response = await app.inject({ url: '/api/nothing-here' });
      expect(response.statusCode).toBe(404);
      expect(response.json().error.code).toBe('IRON_NOT_FOUND');
      expect((await app.inject({ url: '/not-a-page' })).statusCode).toBe(404);
    });
  });
});

describe('without a dashboard build', () => {
  it('answers the app routes with 503 and how to build it, and still serves the API', async () => {
    const app = await testApp(await TEST_DATABASES[0]!.url(), { dashboardDir: join(tmpdir(), `missing-${randomUUID()}`) });
    try {
      const response = await app.inject({ url: '/agents' });
      expect(response.statusCode).toBe(503);
      expect(response.body).toContain('npm run build');
      expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
