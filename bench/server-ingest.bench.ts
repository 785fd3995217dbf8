// Server ingest throughput: autocannon posts batches of 100 fresh events (a realistic mix of agent lifecycle,
// completed/failed calls, cost and PII) to POST /api/events on a SQLite file, then checks that every
// acknowledged event was stored. The server runs as its own process (`iron server`), as it would in production;
// the load generator shares the machine's two cores with it.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { buildApp } from '../server/app.ts';
import type { Row } from './lib/stats.ts';

// autocannon ships no types: the little of its API used here, loaded through a non-literal specifier.
interface AutocannonRequest { method: string; path: string; headers: Record<string, string>; body?: string }
interface AutocannonResult { requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number }
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  requests: Array<AutocannonRequest & { setupRequest: (request: AutocannonRequest) => AutocannonRequest; onResponse: (status: number, body: string) => void }>;
}) => Promise<AutocannonResult>;
const AUTOCANNON = 'autocannon';

const BATCH = 100;
const AGENTS = 64;

/** A batch of 100 new events: 4 agent lifecycle events, then calls as (completion, cost, sometimes PII, a retry). */
function makeBodyFactory(): () => string {
  const run = randomUUID().slice(0, 8);
  const agents = Array.from({ length: AGENTS }, () => randomUUID());
  let seq = 0;
  let batch = 0;
  return () => {
    const now = Date.now();
    const agentId = agents[batch % AGENTS];
    batch += 1;
    const events: string[] = [];
    const id = () => `${run}-${(seq += 1)}`;
    events.push(`{"id":"${id()}","type":"AgentStarted","time":${now},"agentId":"${agentId}","name":"bench-${batch % AGENTS}","kind":"in-process"}`);
    for (let call = 0; events.length < BATCH - 1; call++) {
      const callId = `${run}-c${seq}`;
      if (call % 10 === 9) {
        events.push(`{"id":"${id()}","type":"LlmCallFailed","time":${now},"agentId":"${agentId}","callId":"${callId}","provider":"openai","model":"gpt-4o-mini","stream":false,"latencyMs":120,"error":{"code":"IRON_PROVIDER_ERROR","message":"overloaded","status":529}}`);
        continue;
      }
      events.push(`{"id":"${id()}","type":"LlmCallCompleted","time":${now},"agentId":"${agentId}","callId":"${callId}","provider":"openai","model":"gpt-4o-mini","stream":true,"usage":{"inputTokens":1200,"outputTokens":300,"cacheReadTokens":0,"cacheWriteTokens":0,"reasoningTokens":0},"finishReason":"stop","latencyMs":850,"complete":true}`);
      if (events.length < BATCH - 1) events.push(`{"id":"${id()}","type":"CostUpdate","time":${now},"agentId":"${agentId}","callId":"${callId}","provider":"openai","model":"gpt-4o-mini","costUsd":0.00036,"usage":{"inputTokens":1200,"outputTokens":300},"estimated":false,"priced":true,"agentSpentUsd":0.1,"agentLimitUsd":null,"totalSpentUsd":0.1}`);
      if (call % 4 === 0 && events.length < BATCH - 1) events.push(`{"id":"${id()}","type":"PiiAlert","time":${now},"agentId":"${agentId}","callId":"${callId}","direction":"request","entityType":"EMAIL","count":1,"action":"redact","valueHashes":["0123456789abcdef"]}`);
    }
    events.push(`{"id":"${id()}","type":"AgentStopped","time":${now},"agentId":"${agentId}","status":"completed","exitCode":0}`);
    return `{"events":[${events.join(',')}]}`;
  };
}

const CLI = new URL('../core/cli/main.ts', import.meta.url).pathname;
const ADMIN = { email: 'bench@example.com', password: 'bench password long enough' };

/** Starts `iron server` on a random port; resolves with its URL once it listens. */
function startServerProcess(db: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'server', '--port', '0', '--db', db], {
    env: { PATH: process.env.PATH ?? '', IRON_ADMIN_EMAIL: ADMIN.email, IRON_ADMIN_PASSWORD: ADMIN.password, IRON_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (data: Buffer) => {
      stderr += data.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) resolve({ child, url: match[1]! });
    });
    child.on('exit', (code) => reject(new Error(`iron server exited with ${code}: ${stderr}`)));
  });
}

async function api<T>(url: string, path: string, body: unknown, authorization?: string): Promise<T> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function benchServerIngest(quick: boolean): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'iron-bench-ingest-'));
  const server = await startServerProcess(join(dir, 'iron.db'));
  const stop = () => new Promise<void>((resolve) => {
    if (server.child.exitCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
  try {
    const { accessToken } = await api<{ accessToken: string }>(server.url, '/api/auth/login', ADMIN);
    const project = await api<{ id: string }>(server.url, '/api/projects', { name: 'bench' }, `Bearer ${accessToken}`);
    const { token } = await api<{ token: string }>(server.url, '/api/tokens', { name: 'bench', projectId: project.id }, `Bearer ${accessToken}`);
    const port = Number(new URL(server.url).port);
    const nextBody = makeBodyFactory();
    let acknowledged = 0;
    let failures = 0;
    const connections = Number(process.env.IRON_BENCH_CONNECTIONS ?? 4);
    const duration = quick ? 5 : 30;
    const { default: autocannon } = (await import(AUTOCANNON)) as { default: Autocannon };
    let sent = 0;
    let answered = 0;
    const result = await autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      duration,
      requests: [
        {
          method: 'POST',
          path: '/api/events',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          // A fresh body (new event ids) for every request: re-sent ids would only measure the duplicate path.
          setupRequest: (request) => {
            sent += 1;
            return { ...request, body: nextBody() };
          },
          onResponse: (status, body) => {
            answered += 1;
            if (status === 200) acknowledged += (JSON.parse(body) as { accepted: number }).accepted;
            else failures += 1;
          },
        },
      ],
    });
    await stop();
    // Count from a fresh connection after the server stopped: only what was committed to the file.
    const check = await buildApp({ db: join(dir, 'iron.db'), logger: false });
    const [{ n }] = await check.orm.em.fork().getConnection().execute<Array<{ n: number | string }>>('select count(*) as n from events');
    await check.close();
    const stored = Number(n);
    const seconds = duration;
    // autocannon stops at the deadline without waiting for requests in flight: the server may have committed
    // those, so every acknowledged event must be stored, plus at most the unanswered batches.
    const unanswered = sent - answered;
    const accounted = stored >= acknowledged && stored <= acknowledged + unanswered * BATCH;
    return [
      {
        what: `POST /api/events, ${BATCH}-event batches, SQLite file, ${connections} connections, ${duration} s`,
        'events/s': acknowledged / seconds,
        'requests/s': result.requests.average,
        'p50 ms': result.latency.p50,
        'p99 ms': result.latency.p99,
        'failed requests': failures + result.errors,
        acknowledged,
        stored,
        'in flight at stop': unanswered,
        'all accounted for': accounted ? 'yes' : 'no',
      },
    ];
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
