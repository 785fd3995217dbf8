// The end-to-end loop: a real `iron server` process, runtimes with the sync plugin, the fake provider. What agents do
// shows up in traces, usage and live events, once, across a server restart and a runtime killed with SIGKILL.
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { pino } from 'pino';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../core/index.ts';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { freePort, providerEnv, startIronServer } from './helpers.ts';

const CLI = new URL('../core/cli/main.ts', import.meta.url).pathname;
const ADMIN = { email: 'sync@example.com', password: 'a long sync password' };

const startServer = (db: string, port: number) => startIronServer(db, port, { IRON_ADMIN_EMAIL: ADMIN.email, IRON_ADMIN_PASSWORD: ADMIN.password });

/** Stops a process; one that has not exited 10 s after SIGTERM (a loaded machine) is killed. */
function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}

let fake: FakeProvider;
let dir: string;
let port: number;
let url: string;
let server: ChildProcess;
let admin: string;
let projectId: string;
let token: string;

async function api<T = any>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${url}${path}`, { ...init, headers: { 'content-type': 'application/json', authorization: admin, ...(init.headers ?? {}) } });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

beforeAll(async () => {
  fake = await startFakeProvider();
  dir = mkdtempSync(join(tmpdir(), 'iron-sync-'));
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = await startServer(join(dir, 'iron.db'), port);
  const login = await (await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })).json();
  admin = `Bearer ${login.accessToken}`;
  projectId = (await api('/api/projects', { method: 'POST', body: JSON.stringify({ name: 'sync' }) })).id;
  token = (await api('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'runtime', projectId }) })).token;
}, 30_000);
afterAll(async () => {
  await stop(server);
  await fake.close();
}, 30_000);

function syncedRuntime(outbox: string): Runtime {
  return new Runtime({ env: providerEnv(fake), logLevel: 'silent', budget: 5, config: { safety: {}, sync: { server: url, token, outbox, flushIntervalMs: 20 } } });
}

async function runAgent(runtime: Runtime, calls: number, name: string): Promise<string> {
  const id = await runtime.startAgent(async (agent) => {
    const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
    for (let i = 0; i < calls; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: i === 0 ? 'mail jane.doe@example.org' : `call ${i}` }] });
  }, { name });
  await runtime.waitForAgent(id);
  return id;
}

describe('sync: runtime → server', () => {
  it('an agent run appears in traces, usage and, in order, as live WebSocket events', async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${token}`);
    const live: string[] = [];
    ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'event') live.push(message.event.type);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    const runtime = syncedRuntime(join(dir, 'outbox-1.db'));
    const agentId = await runAgent(runtime, 3, 'synced-agent');
    const local = runtime.getMetrics(agentId);
    await runtime.close();
    await expect.poll(() => live.includes('AgentStopped'), { timeout: 5000 }).toBe(true);
    ws.close();
    expect(live[0]).toBe('AgentStarted');
    expect(live.at(-1)).toBe('AgentStopped');
    expect(live.filter((type) => type === 'LlmCallCompleted')).toHaveLength(3);

    const trace = await api(`/api/traces/${agentId}`);
    expect(trace.calls).toHaveLength(3);
    const agent = await api(`/api/agents/${agentId}`);
    expect(agent).toMatchObject({ name: 'synced-agent', status: 'completed', calls: 3, piiDetections: 1 });
    expect(agent.costUsd).toBeCloseTo(local.costUsd, 6);
    const usage = await api(`/api/usage/aggregate?groupBy=model&projectId=${projectId}`);
    expect(usage.groups.find((g: { key: string }) => g.key === 'gpt-4o-mini').calls).toBeGreaterThanOrEqual(3);
  });

  it('server killed mid-run and restarted: every call reaches the database exactly once', async () => {
    const runtime = syncedRuntime(join(dir, 'outbox-2.db'));
    // The runtime has read the server's limits (none) before the server dies: it goes on spending without one.
    await runtime.ready();
    await stop(server, 'SIGKILL');
    const agentId = await runAgent(runtime, 5, 'outage-agent');
    expect(runtime.getMetrics(agentId).plugins.sync).toMatchObject({ sent: 0 });
    server = await startServer(join(dir, 'iron.db'), port);
    await runtime.close(); // flushes the outbox now that the server is back
    const trace = await api(`/api/traces/${agentId}`);
    expect(trace.calls).toHaveLength(5);
    expect(new Set(trace.calls.map((c: { id: string }) => c.id)).size).toBe(5);
    expect((await api(`/api/agents/${agentId}`)).calls).toBe(5);
  }, 30_000);

  it('a runtime killed with SIGKILL sends what it recorded when it next starts, none twice', async () => {
    const outbox = join(dir, 'outbox-3.db');
    const child = spawn(process.execPath, [new URL('./fixtures/sync-runtime.ts', import.meta.url).pathname], {
      env: { ...providerEnv(fake), IRON_SERVER_URL: url, IRON_TOKEN: token, OUTBOX: outbox, CALLS: '4' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const agentId = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (data: Buffer) => {
        out += data.toString();
        const match = /recorded (\S+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`runtime exited ${code}`)));
    });
    await stop(child, 'SIGKILL');
    await expect(api(`/api/agents/${agentId}`)).rejects.toThrow(/404/);
    // The next run with the same outbox sends what the killed one recorded.
    const next = syncedRuntime(outbox);
    await next.ready();
    await next.close();
    const agent = await api(`/api/agents/${agentId}`);
    // Killed mid-run: the next run from its outbox knows the agent was running and reports it lost.
    expect(agent).toMatchObject({ name: 'killed-runtime', calls: 4, status: 'lost' });
    expect((await api(`/api/traces/${agentId}`)).calls).toHaveLength(4);
  }, 30_000);

  it('a revoked token stops sync with a clear error, keeping the events', async () => {
    const { id, token: revoked } = await api('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'to-revoke', projectId }) });
    const runtime = new Runtime({ env: providerEnv(fake), logLevel: 'silent', config: { sync: { server: url, token: revoked, outbox: join(dir, 'outbox-4.db'), flushIntervalMs: 10 } } });
    // Revoked while the runtime runs (a token refused at start stops the run there: see test/cli-user.test.ts).
    await runtime.ready();
    await fetch(`${url}/api/tokens/${id}`, { method: 'DELETE', headers: { authorization: admin } });
    const agentId = await runAgent(runtime, 1, 'revoked-agent');
    await expect.poll(() => (runtime.getMetrics(agentId).plugins.sync as { stopped?: string }).stopped ?? '', { timeout: 5000 }).toMatch(/sync stopped: the server refused the API token/);
    expect((runtime.getMetrics(agentId).plugins.sync as { pending: number }).pending).toBeGreaterThan(0);
    await runtime.close();
  });

  it("events recorded under a revoked token are never sent under the next run's token: they stay in the outbox", async () => {
    const { id, token: revoked } = await api('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'revoked-later', projectId }) });
    const outbox = join(dir, 'outbox-identity.db');
    const before = new Runtime({ env: providerEnv(fake), logLevel: 'silent', config: { sync: { server: url, token: revoked, outbox, offline: 'allow', flushIntervalMs: 10, flushTimeoutMs: 200 } } });
    await before.ready();
    await fetch(`${url}/api/tokens/${id}`, { method: 'DELETE', headers: { authorization: admin } });
    const agentId = await runAgent(before, 1, 'recorded-under-revoked');
    await before.close();
    // The next run in the same folder, with another project's valid token.
    const otherProject = (await api('/api/projects', { method: 'POST', body: JSON.stringify({ name: 'other-project' }) })).id;
    const otherToken = (await api('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'other', projectId: otherProject }) })).token;
    const warnings: string[] = [];
    const next = new Runtime({ env: providerEnv(fake), logger: pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) }), config: { sync: { server: url, token: otherToken, outbox, flushIntervalMs: 10 } } });
    await next.ready();
    await next.close();
    await expect(api(`/api/agents/${agentId}`)).rejects.toThrow(/404/);
    expect(warnings.join('')).toMatch(/events in the outbox .*outbox-identity\.db were recorded for another server or API token/);
    const file = new Database(outbox, { readonly: true });
    expect((file.prepare('select count(*) as n from outbox').get() as { n: number }).n).toBeGreaterThanOrEqual(3);
    file.close();
  });

  it('5 runtimes × 10 concurrent agents share a $1 server budget through leases: never more than $1, and it gets used up', async () => {
    const project = (await api('/api/projects', { method: 'POST', body: JSON.stringify({ name: 'shared-budget' }) })).id;
    const shared = (await api('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'fleet', projectId: project }) })).token;
    await api('/api/limits', { method: 'POST', body: JSON.stringify({ projectId: project, scope: 'project', kind: 'budget', amountUsd: 1, period: 'total' }) });
    const runtimes = Array.from({ length: 5 }, (_, i) =>
      new Runtime({
        env: providerEnv(fake),
        logLevel: 'silent',
        budget: 100, // the local cap is not what stops them: the server's $1 is
        // Each agent below retries a refusal 10 times: at the default cost.waitMs (10 s) every refusal at the end waits
        // that long first, and on a machine running slow the test outlived its minute (30 s now, there). The wait itself has its own tests.
        config: { cost: { waitMs: 250 }, sync: { server: url, token: shared, outbox: join(dir, `fleet-${i}.db`), flushIntervalMs: 50, leases: { trancheUsd: 0.05, ttlSeconds: 5, pollMs: 500 } } },
      }),
    );
    await Promise.all(runtimes.map((runtime) => runtime.ready()));
    const prompt = 'budget '.repeat(1200); // about 2,100 input tokens; with 500 output tokens a gpt-4o call costs about $0.01
    const refusals: string[] = [];
    const ids = await Promise.all(
      runtimes.flatMap((runtime) =>
        Array.from({ length: 10 }, () =>
          runtime.startAgent(async (agent) => {
            const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
            // An agent waits a little when the budget is out (other runtimes may still hand leases back), then gives up.
            for (let refused = 0; ; ) {
              try {
                await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 500, messages: [{ role: 'user', content: prompt }] });
                refused = 0;
              } catch (error) {
                if (++refused < 10) {
                  await new Promise((resolve) => setTimeout(resolve, 50));
                  continue;
                }
                refusals.push((error as Error).message);
                return;
              }
            }
          }),
        ),
      ),
    );
    const local = await Promise.all(ids.map((id, i) => runtimes[Math.floor(i / 10)]!.waitForAgent(id)));
    await Promise.all(runtimes.map((runtime) => runtime.close()));
    const spentLocally = local.reduce((sum, metrics) => sum + metrics.costUsd, 0);
    const usage = await api(`/api/usage/aggregate?groupBy=project&projectId=${project}`);
    expect(refusals).toHaveLength(50);
    for (const message of refusals) expect(message).toMatch(/IRON_BUDGET_EXCEEDED/);
    // Never more than the server's budget, all of it reported, and not stranded in leases.
    expect(usage.totals.costUsd).toBeLessThanOrEqual(1);
    expect(usage.totals.costUsd).toBeCloseTo(spentLocally, 6);
    // What is left is less than one worst-case reservation per runtime (about $0.025), and nothing is stranded:
    // every lease came back, so the server lends exactly the rest.
    expect(usage.totals.costUsd, `spent $${usage.totals.costUsd}`).toBeGreaterThan(1 - 5 * 0.03);
    const limitId = (await api(`/api/limits?projectId=${project}`)).limits[0].id;
    const rest = await (await fetch(`${url}/api/leases`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${shared}` }, body: JSON.stringify({ limitId, holder: 'check', requestUsd: 1, minUsd: 1 }) })).json();
    expect(rest.grantedUsd).toBeCloseTo(1 - usage.totals.costUsd, 6);
  }, 120_000);

  it('limits created on the server reach a running runtime within a poll, and offline it spends only what its lease holds', async () => {
    const project = (await api('/api/projects', { method: 'POST', body: JSON.stringify({ name: 'limits-live' }) })).id;
    const runtimeToken = (await api('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'r', projectId: project }) })).token;
    const runtime = new Runtime({
      env: providerEnv(fake),
      logLevel: 'silent',
      budget: 100,
      config: { sync: { server: url, token: runtimeToken, outbox: join(dir, 'limits-live.db'), flushIntervalMs: 50, leases: { trancheUsd: 0.03, ttlSeconds: 30, pollMs: 200 } } },
    });
    const results: string[] = [];
    let release!: () => void;
    const phase = new Promise<void>((resolve) => (release = resolve));
    let next!: () => void;
    const step = new Promise<void>((resolve) => (next = resolve));
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      const ask = async () => {
        try {
          await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 500, messages: [{ role: 'user', content: 'budget '.repeat(1200) }] });
          results.push('ok');
        } catch (error) {
          results.push((error as Error).message);
        }
      };
      await ask(); // no server limit yet
      release();
      await step;
      for (let i = 0; i < 6; i++) await ask();
    });
    await phase;
    await api('/api/limits', { method: 'POST', body: JSON.stringify({ projectId: project, scope: 'project', kind: 'budget', amountUsd: 5, period: 'total' }) });
    await new Promise((resolve) => setTimeout(resolve, 500)); // one poll later the runtime borrows before spending
    await stop(server, 'SIGKILL'); // …and from now on spends only what its first lease holds
    next();
    await runtime.waitForAgent(id);
    server = await startServer(join(dir, 'iron.db'), port);
    await runtime.close();
    expect(results[0]).toBe('ok');
    // $0.03 borrowed covers two worst-case reservations (about $0.012 each near the limit): then offline refusals.
    const after = results.slice(1);
    expect(after.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(1);
    expect(after.filter((r) => r === 'ok').length).toBeLessThanOrEqual(3);
    expect(after.at(-1)).toMatch(/IRON_BUDGET_EXCEEDED: .*server budget.*cannot be reached: this runtime spends only what its unexpired lease holds/);
  }, 30_000);

  it('an agent-scoped server budget stops that agent only', async () => {
    const project = (await api('/api/projects', { method: 'POST', body: JSON.stringify({ name: 'agent-budget' }) })).id;
    const runtimeToken = (await api('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'r', projectId: project }) })).token;
    const runtime = new Runtime({
      env: providerEnv(fake),
      logLevel: 'silent',
      budget: 100,
      config: { sync: { server: url, token: runtimeToken, outbox: join(dir, 'agent-budget.db'), flushIntervalMs: 50, leases: { trancheUsd: 0.01, pollMs: 200 } } },
    });
    let go!: () => void;
    const ready = new Promise<void>((resolve) => (go = resolve));
    const work = (results: string[]) => async (agent: { fetch: typeof fetch }) => {
      await ready;
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      for (let i = 0; i < 4; i++) {
        try {
          await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 500, messages: [{ role: 'user', content: 'budget '.repeat(1200) }] });
          results.push('ok');
        } catch (error) {
          results.push((error as Error).message);
        }
      }
    };
    const limited: string[] = [];
    const free: string[] = [];
    const a = await runtime.startAgent(work(limited), { name: 'limited' });
    const b = await runtime.startAgent(work(free), { name: 'free' });
    await api('/api/limits', { method: 'POST', body: JSON.stringify({ projectId: project, scope: 'agent', target: a, kind: 'budget', amountUsd: 0.03, period: 'total' }) });
    await new Promise((resolve) => setTimeout(resolve, 500));
    go();
    await Promise.all([runtime.waitForAgent(a), runtime.waitForAgent(b)]);
    await runtime.close();
    expect(free).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(limited[0]).toBe('ok');
    expect(limited.at(-1)).toMatch(/IRON_BUDGET_EXCEEDED: the agent's server budget/);
    // The refusals reach the team's Alerts, naming the server limit (they were only an error in the agent before).
    const alerts = await api<{ items: Array<{ agentId: string; payload: Record<string, unknown> }>; counts: Record<string, number> }>(`/api/alerts?projectId=${project}&type=BudgetExceeded`);
    const refusals = limited.filter((result) => result !== 'ok').length;
    expect(alerts.counts.BudgetExceeded).toBe(refusals);
    expect(alerts.items[0]).toMatchObject({ agentId: a, payload: { scope: 'agent', limitUsd: 0.03, neededUsd: expect.any(Number), name: expect.stringMatching(/^server limit /), limitId: expect.any(String) } });
    // What the limit has spent, not nothing: the Alerts page reads "$… of $0.03 spent".
    expect(alerts.items[0]!.payload.spentUsd).toBeGreaterThan(0);
    expect(alerts.items[0]!.payload.spentUsd).toBeLessThanOrEqual(0.03);
  }, 30_000);

  it('an event the server cannot store is rejected alone, said in the log and the metrics, and the rest arrive', async () => {
    const lines: string[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const runtime = new Runtime({ env: providerEnv(fake), logger, config: { sync: { server: url, token, outbox: join(dir, 'rejected.db'), flushIntervalMs: 20 } } });
    const id = await runtime.startAgent(async (agent) => {
      // A buggy plugin reports a cost no page could sum.
      runtime.events.emit({ type: 'CostUpdate', time: Date.now(), agentId: agent.agentId, callId: 'c1', model: 'gpt-4o-mini', provider: 'openai', costUsd: 1e308, usage: {}, estimated: false, priced: true, agentSpentUsd: 0, agentLimitUsd: null, totalSpentUsd: 0 } as never);
    }, { name: 'rejected-event' });
    await runtime.waitForAgent(id);
    await expect.poll(() => (runtime.getMetrics(id).plugins.sync as { lastError?: string }).lastError ?? '', { timeout: 5000 }).toMatch(/the server rejected 1 of \d+ events: body\/events\/\d+\/costUsd: 1e\+308 is more than/);
    await runtime.close();
    expect(lines.join('')).toContain('they were removed from the outbox');
    const run = await api(`/api/traces/${id}`);
    expect(run.run).toMatchObject({ name: 'rejected-event', status: 'completed' });
  });

  it('iron run turns sync on from IRON_SERVER_URL and IRON_TOKEN alone', async () => {
    const work = mkdtempSync(join(tmpdir(), 'iron-run-sync-'));
    const child = spawn(process.execPath, [CLI, 'run', new URL('../examples/python-agent.py', import.meta.url).pathname, '--', 'syncing'], {
      cwd: work,
      env: { ...providerEnv(fake), IRON_SERVER_URL: url, IRON_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (data: Buffer) => void (stderr += data.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr).toBe(0);
    const agents = await api(`/api/agents?projectId=${projectId}`);
    const run = agents.items.find((agent: { name: string }) => agent.name.endsWith('python-agent.py'));
    expect(run, `${stderr}\n${JSON.stringify(agents.items.map((agent: { name: string }) => agent.name))}`).toMatchObject({ status: 'completed', calls: 2 });
  }, 30_000);
});

