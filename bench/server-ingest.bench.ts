// Server ingest throughput: autocannon posts batches of 100 fresh events (a realistic mix of agent lifecycle,
// completed/failed calls, cost and PII) to POST /api/events on a SQLite file, then checks that every
// acknowledged event was stored. The server runs as its own process (`iron server`), as it would in production;
// the load generator shares the machine's two cores with it. The same events also go into a copy of the server's
// freshly migrated file through a raw batched insert (sqlite-ratio.bench.ts): server / raw is the share of the
// storage speed the server keeps (target ≥ 25 %).
import { randomUUID } from 'node:crypto';
import { timeOrderedId } from '../core/ids.ts';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { buildApp } from '../server/app.ts';
import { rawInsert, type RawInsertSlice } from './sqlite-ratio.bench.ts';
import { markdownTable, type Row } from './lib/stats.ts';
import { cpuMicros } from './lib/processes.ts';

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

/**
 * A batch of 100 new events: 4 agent lifecycle events, then calls as (completion, cost, sometimes PII, a retry).
 * Event and call ids are time-ordered UUIDs (v7), as the runtime makes them; agent ids are random, as they are.
 */
export function makeBodyFactory(): () => string {
  const agents = Array.from({ length: AGENTS }, () => randomUUID());
  let batch = 0;
  return () => {
    const now = Date.now();
    const agentId = agents[batch % AGENTS];
    batch += 1;
    const events: string[] = [];
    const id = timeOrderedId;
    events.push(`{"id":"${id()}","type":"AgentStarted","time":${now},"agentId":"${agentId}","name":"bench-${batch % AGENTS}","kind":"in-process"}`);
    for (let call = 0; events.length < BATCH - 1; call++) {
      const callId = timeOrderedId();
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
export const ADMIN = { email: 'bench@example.com', password: 'bench password long enough' };

/** Starts `iron server` on a random port; resolves with its URL once it listens. */
export function startServerProcess(db: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string }> {
  // IRON_BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the server under this load.
  const nodeArgs = (process.env.IRON_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'server', '--port', '0', '--db', db], {
    env: { PATH: process.env.PATH ?? '', IRON_ADMIN_EMAIL: ADMIN.email, IRON_ADMIN_PASSWORD: ADMIN.password, IRON_LOG_LEVEL: 'error', ...env },
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

export async function api<T>(url: string, path: string, body: unknown, authorization?: string): Promise<T> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

interface LoadResult {
  acknowledged: number;
  failures: number;
  sent: number;
  answered: number;
  result: AutocannonResult;
}

/** `seconds` of autocannon load: every request a fresh batch from `nextBody`. */
export async function load(url: string, token: string, connections: number, seconds: number, nextBody: () => string): Promise<LoadResult> {
  const { default: autocannon } = (await import(AUTOCANNON)) as { default: Autocannon };
  const counts = { acknowledged: 0, failures: 0, sent: 0, answered: 0 };
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/api/events',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        // A fresh body (new event ids) for every request: re-sent ids would only measure the duplicate path.
        setupRequest: (request) => {
          counts.sent += 1;
          return { ...request, body: nextBody() };
        },
        onResponse: (status, body) => {
          counts.answered += 1;
          if (status === 200) counts.acknowledged += (JSON.parse(body) as { accepted: number }).accepted;
          else counts.failures += 1;
        },
      },
    ],
  });
  return { ...counts, result };
}

/** CPU time (user + system, seconds) a process has used so far (NaN where /proc is not there). */
function cpuSeconds(pid: number | undefined): number {
  return cpuMicros(pid) / 1e6;
}

/** Events per second over the slices' `time` (wall or CPU), median of the slices. */
function medianRate(slices: RawInsertSlice[], time: 'wallMs' | 'cpuMs'): number {
  const rates = slices.map((slice) => slice.events / (slice[time] / 1000)).sort((a, b) => a - b);
  const middle = Math.floor(rates.length / 2);
  return rates.length % 2 ? rates[middle]! : (rates[middle - 1]! + rates[middle]!) / 2;
}

/** A new SQLite file migrated by the server itself (what `iron server` would create), closed again. */
async function migratedDatabase(file: string): Promise<void> {
  const app = await buildApp({ db: file, logger: false });
  await app.close();
}

export async function benchServerIngest(quick: boolean): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'iron-bench-ingest-'));
  const file = join(dir, 'iron.db');
  let server: { child: ChildProcess; url: string } | undefined;
  const stop = () => new Promise<void>((resolve) => {
    if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
  try {
    // Both sides start from the same bytes: the server's migrated file, and a copy of it for the raw insert.
    await migratedDatabase(file);
    copyFileSync(file, join(dir, 'raw.db'));
    // The raw insert runs before and after the server (the same machine load, as far as possible), on one body
    // generator: the second run continues the first in the same file.
    const rawBodies = makeBodyFactory();
    const rawSeconds = quick ? 1 : 3;
    const rawBefore = rawInsert(join(dir, 'raw.db'), rawSeconds, rawBodies);

    server = await startServerProcess(file);
    const { accessToken } = await api<{ accessToken: string }>(server.url, '/api/auth/login', ADMIN);
    const project = await api<{ id: string }>(server.url, '/api/projects', { name: 'bench' }, `Bearer ${accessToken}`);
    const { token } = await api<{ token: string }>(server.url, '/api/tokens', { name: 'bench', projectId: project.id }, `Bearer ${accessToken}`);
    const url = `http://127.0.0.1:${new URL(server.url).port}`;
    const connections = Number(process.env.IRON_BENCH_CONNECTIONS ?? 4);
    const duration = quick ? 5 : 30;
    const nextBody = makeBodyFactory();
    // A warm-up (JIT, page cache, statements), as the raw insert has; then the measured run.
    const warmUp = await load(url, token, connections, quick ? 1 : 3, nextBody);
    const cpuBefore = cpuSeconds(server.child.pid);
    const run = await load(url, token, connections, duration, nextBody);
    const serverCpu = cpuSeconds(server.child.pid) - cpuBefore;
    await stop();
    // Count from a fresh connection after the server stopped: only what was committed to the file.
    const check = await buildApp({ db: file, logger: false });
    const [{ n }] = await check.orm.em.fork().getConnection().execute<Array<{ n: number | string }>>('select count(*) as n from events');
    await check.close();
    const stored = Number(n);
    const rawAfter = rawInsert(join(dir, 'raw.db'), rawSeconds, rawBodies);
    if (rawAfter.stored !== rawBefore.inserted + rawAfter.inserted) throw new Error(`raw insert: ${rawBefore.inserted + rawAfter.inserted} events inserted, ${rawAfter.stored} stored`);
    const slices = [...rawBefore.slices, ...rawAfter.slices];
    const raw = { eventsPerSecond: medianRate(slices, 'wallMs'), eventsPerCpuSecond: medianRate(slices, 'cpuMs'), payloadBytes: rawAfter.payloadBytes, stored: rawAfter.stored };
    // autocannon stops at the deadline without waiting for requests in flight: the server may have committed
    // those, so every acknowledged event must be stored, plus at most the unanswered batches.
    const acknowledged = warmUp.acknowledged + run.acknowledged;
    const unanswered = warmUp.sent - warmUp.answered + (run.sent - run.answered);
    const accounted = stored >= acknowledged && stored <= acknowledged + unanswered * BATCH;
    const rate = run.acknowledged / duration;
    return [
      {
        what: `raw SQLite insert into a copy of the same file: ${BATCH}-row transactions, one prepared multi-row insert, events table only (~${Math.round(raw.payloadBytes)}-byte payloads; median of ${slices.length} half-second slices before and after the server run)`,
        'events/s': raw.eventsPerSecond,
        '% of raw': 100,
        'events per CPU-s': raw.eventsPerCpuSecond,
        '% of raw per CPU-s': 100,
        'requests/s': '–',
        'p50 ms': '–',
        'p99 ms': '–',
        'failed requests': '–',
        stored: `${raw.stored}: every inserted row`,
      },
      {
        what: `iron server: POST /api/events, ${BATCH}-event batches, ${connections} connections, ${duration} s after a ${quick ? 1 : 3} s warm-up`,
        'events/s': rate,
        '% of raw': (rate / raw.eventsPerSecond) * 100,
        'events per CPU-s': run.acknowledged / serverCpu,
        '% of raw per CPU-s': (run.acknowledged / serverCpu / raw.eventsPerCpuSecond) * 100,
        'requests/s': run.result.requests.average,
        'p50 ms': run.result.latency.p50,
        'p99 ms': run.result.latency.p99,
        'failed requests': String(run.failures + run.result.errors + warmUp.failures + warmUp.result.errors),
        stored: `${stored} (${acknowledged} acknowledged, ${unanswered} requests in flight at stop): ${accounted ? 'all accounted for' : 'EVENTS MISSING'}`,
      },
    ];
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node bench/server-ingest.bench.ts [--quick]` runs this suite alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(markdownTable(await benchServerIngest(process.argv.includes('--quick'))));
}
