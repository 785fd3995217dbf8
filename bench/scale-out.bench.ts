// Scale-out on PostgreSQL (issue 22): ingest with one `iron server` instance and with two on the same database
// (autocannon spreads the same connections over them), and the delay from a batch acknowledged by one instance to
// its event on a /ws client of the other. Needs IRON_BENCH_PG_URL or IRON_TEST_PG_URL (a database it may create
// others on); without one the suite says so and measures nothing. On this 2-core machine the instances, PostgreSQL
// and the load generator all share the two cores: a second instance adds a process, not a machine.
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { ADMIN, api, load, makeBodyFactory, startServerProcess } from './server-ingest.bench.ts';
import { summarize, type Row } from './lib/stats.ts';

const SECRET = 'bench-scale-out-secret-at-least-32-bytes!!';

async function pgQuery(url: string, sql: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function stopAll(children: ChildProcess[]): Promise<void> {
  return Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  ).then(() => undefined);
}

/** A fresh database with `instances` servers on it, an admin JWT and a project API token. */
async function cluster(base: string, instances: number): Promise<{ urls: string[]; children: ChildProcess[]; admin: string; token: string; projectId: string; drop: () => Promise<void> }> {
  const name = `iron_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await pgQuery(base, `create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const started = await Promise.all(Array.from({ length: instances }, () => startServerProcess(url.toString(), { IRON_JWT_SECRET: SECRET })));
  const urls = started.map((s) => `http://127.0.0.1:${new URL(s.url).port}`);
  const children = started.map((s) => s.child);
  const { accessToken } = await api<{ accessToken: string }>(urls[0]!, '/api/auth/login', ADMIN);
  const admin = `Bearer ${accessToken}`;
  const project = await api<{ id: string }>(urls[0]!, '/api/projects', { name: 'bench' }, admin);
  const { token } = await api<{ token: string }>(urls[0]!, '/api/tokens', { name: 'bench', projectId: project.id }, admin);
  return {
    urls,
    children,
    admin,
    token,
    projectId: project.id,
    drop: async () => {
      await stopAll(children);
      await pgQuery(base, `drop database if exists ${name} with (force)`).catch(() => undefined);
    },
  };
}

/** events/s and batch p99 with `connections` spread evenly over the instances. */
async function ingestRate(urls: string[], token: string, connections: number, seconds: number): Promise<{ eventsPerSecond: number; p99: number; failures: number }> {
  const nextBody = makeBodyFactory();
  const per = Math.max(1, Math.round(connections / urls.length));
  await Promise.all(urls.map((url) => load(url, token, per, 1, nextBody)));
  const runs = await Promise.all(urls.map((url) => load(url, token, per, seconds, nextBody)));
  return {
    eventsPerSecond: runs.reduce((sum, run) => sum + run.acknowledged, 0) / seconds,
    p99: Math.max(...runs.map((run) => run.result.latency.p99)),
    failures: runs.reduce((sum, run) => sum + run.failures, 0),
  };
}

/** From posting a one-event batch to instance A until a /ws client of instance B has it, `samples` times. */
async function crossInstanceDelay(urls: string[], admin: string, token: string, samples: number): Promise<number[]> {
  const socket = new WebSocket(`${urls[1]!.replace('http', 'ws')}/ws?token=${admin.slice('Bearer '.length)}`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const waiting = new Map<string, (at: number) => void>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; event?: { id: string } };
    if (message.type === 'event') waiting.get(message.event!.id)?.(performance.now());
  });
  const delays: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const id = randomUUID();
      const arrived = new Promise<number>((resolve) => waiting.set(id, resolve));
      const sent = performance.now();
      await api(urls[0]!, '/api/events', { events: [{ id, type: 'AgentStarted', time: new Date().toISOString(), agentId: randomUUID(), name: 'cross' }] }, `Bearer ${token}`);
      delays.push((await arrived) - sent);
      waiting.delete(id);
    }
  } finally {
    socket.close();
  }
  return delays;
}

export async function benchScaleOut(quick: boolean): Promise<Row[]> {
  const base = process.env.IRON_BENCH_PG_URL ?? process.env.IRON_TEST_PG_URL;
  if (!base) return [{ what: 'skipped: set IRON_BENCH_PG_URL (or IRON_TEST_PG_URL) to a PostgreSQL database', 'events/s': '-', 'p99 ms': '-' }];
  const seconds = quick ? 4 : 15;
  const connections = Number(process.env.IRON_BENCH_CONNECTIONS ?? 4);
  const rows: Row[] = [];
  const rates: number[] = [];
  for (const instances of [1, 2]) {
    const c = await cluster(base, instances);
    try {
      const rate = await ingestRate(c.urls, c.token, connections, seconds);
      rates.push(rate.eventsPerSecond);
      rows.push({
        what: `ingest, ${instances} instance${instances > 1 ? 's' : ''} on one PostgreSQL, ${connections} connections, batches of 100 (${rate.failures} failed)`,
        'events/s': Math.round(rate.eventsPerSecond),
        'vs one instance': instances === 1 ? '1.00×' : `${(rate.eventsPerSecond / rates[0]!).toFixed(2)}×`,
        'p50 ms': '-',
        'p99 ms': rate.p99,
      });
      if (instances === 2) {
        const delays = summarize(await crossInstanceDelay(c.urls, c.admin, c.token, quick ? 50 : 200));
        rows.push({ what: `cross-instance live delivery: a batch posted to A → its event on a /ws client of B (${delays.n} samples)`, 'events/s': '-', 'vs one instance': '-', 'p50 ms': delays.p50, 'p99 ms': delays.p99 });
      }
    } finally {
      await c.drop();
    }
  }
  return rows;
}

// `node bench/scale-out.bench.ts [--quick]` runs this suite alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { markdownTable } = await import('./lib/stats.ts');
  console.log(markdownTable(await benchScaleOut(process.argv.includes('--quick'))));
}
