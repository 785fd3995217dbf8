// Server usage benchmark: GET /api/usage/aggregate latency over 1,000,000 stored LLM calls (quick: 100,000) in a SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../server/app.ts';
import { createProject, createUser } from '../server/testing.ts';
import { summarize, type Row } from './lib/stats.ts';

const PROVIDERS = ['openai', 'anthropic', 'azure', 'local'];
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'o3', 'claude-sonnet-4-6', 'claude-haiku-4-5', 'llama3-70b', 'mistral-large', 'gemini-2.5-pro'];
const DAY_MS = 86_400_000;
const DAYS = 365;

/** Deterministic fake UUIDs for agents (ids are just text to SQLite). */
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/**
 * Writes `count` calls spread evenly over the last `days` days. Multi-row literal inserts inside one transaction per
 * batch: the unit of work would build a million entities, and one statement per row would cost a round trip each.
 */
async function seed(app: Awaited<ReturnType<typeof buildApp>>, projects: string[], count: number, days: number): Promise<void> {
  const connection = app.orm.em.getConnection();
  const now = Date.now();
  const batch = 1_000;
  const perTransaction = 50_000;
  for (let start = 0; start < count; start += perTransaction) {
    await app.orm.em.fork().transactional(async (em) => {
      const ctx = em.getTransactionContext();
      for (let at = start; at < Math.min(count, start + perTransaction); at += batch) {
        const values: string[] = [];
        for (let i = at; i < Math.min(count, at + batch); i++) {
          const time = now - Math.floor(((i + 0.5) / count) * days * DAY_MS);
          const failed = i % 20 === 0;
          const input = 200 + (i % 3_000);
          const output = failed ? 0 : 50 + (i % 700);
          // Like real fleets: an agent belongs to one project and provider and alternates between two of its models.
          const agent = i % 50;
          values.push(`('c${i}','${projects[agent % projects.length]}','${uuid(agent)}','${PROVIDERS[agent % PROVIDERS.length]}','${MODELS[(agent % PROVIDERS.length) * 2 + ((i >> 6) & 1)]}','${failed ? 'failed' : 'ok'}',0,${input},${output},${failed ? 0 : input * 3 + output * 12},${100 + (i % 900)},0,null,${time})`);
        }
        await connection.execute(
          `insert into llm_calls (id, project_id, agent_id, provider, model, status, stream, input_tokens, output_tokens, cost_micros, latency_ms, pii_detections, error_code, time) values ${values.join(',')}`,
          [],
          'run',
          ctx,
        );
      }
    });
  }
}

async function timeGet(app: Awaited<ReturnType<typeof buildApp>>, url: string, authorization: string, iterations: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < iterations + 5; i++) {
    const t0 = performance.now();
    const response = await app.inject({ method: 'GET', url, headers: { authorization } });
    const ms = performance.now() - t0;
    if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
    if (i >= 5) samples.push(ms);
  }
  return samples;
}

/** One database of `count` calls spread over `days`, and the cases timed on it. */
async function runDataset(count: number, days: number, quick: boolean): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'iron-bench-usage-'));
  const app = await buildApp({ db: join(dir, 'iron.db'), logger: false });
  try {
    const projects = [];
    for (let i = 0; i < 10; i++) projects.push(await createProject(app));
    const admin = await createUser(app, 'admin');
    const member = await createUser(app, 'member', [projects[0]!]);
    const t0 = performance.now();
    await seed(app, projects, count, days);
    const seedSeconds = (performance.now() - t0) / 1000;
    const label = `${count.toLocaleString('en')} calls over ${days} days`;
    const all = `from=${new Date(Date.now() - days * DAY_MS - DAY_MS).toISOString()}`;
    const cases: Array<[string, string, string, number]> =
      days > 30
        ? [
            ['last 30 days, groupBy=day (admin)', '/api/usage/aggregate?groupBy=day', admin.authorization, 50],
            ['last 30 days, groupBy=model (admin)', '/api/usage/aggregate?groupBy=model', admin.authorization, 50],
            ['last 30 days, groupBy=day (member of 1 of 10 projects)', '/api/usage/aggregate?groupBy=day', member.authorization, 50],
            ['every call, groupBy=day (admin)', `/api/usage/aggregate?groupBy=day&${all}`, admin.authorization, 20],
            ['every call, groupBy=model (admin)', `/api/usage/aggregate?groupBy=model&${all}`, admin.authorization, 20],
            ['every call, groupBy=agent (raw calls: the rollup has no agent)', `/api/usage/aggregate?groupBy=agent&${all}`, admin.authorization, 5],
          ]
        : [
            ['last 30 days = every call, groupBy=day (admin)', '/api/usage/aggregate?groupBy=day', admin.authorization, 50],
            ['last 30 days = every call, groupBy=model (admin)', '/api/usage/aggregate?groupBy=model', admin.authorization, 50],
            ['last 30 days = every call, groupBy=project (admin)', '/api/usage/aggregate?groupBy=project', admin.authorization, 50],
          ];
    const rows: Row[] = [];
    for (const [what, url, authorization, iterations] of cases) {
      const s = summarize(await timeGet(app, url, authorization, quick ? Math.min(iterations, 10) : iterations));
      rows.push({ what: `${what}; ${label}`, 'p50 ms': s.p50, 'p99 ms': s.p99 });
    }
    rows.push({ what: `seeding ${label} (batched inserts, rollup triggers on)`, 'p50 ms': seedSeconds * 1000, 'p99 ms': Number.NaN });
    return rows;
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchServerUsage(quick: boolean): Promise<Row[]> {
  const count = quick ? 100_000 : 1_000_000;
  // A busy month (every call in the default 30-day range, read through the hourly rollup) and a quiet year
  // (a thin spread: the rollup compresses little, and agent grouping reads the raw calls).
  return [...(await runDataset(count, 30, quick)), ...(await runDataset(count, DAYS, quick))];
}

// `node bench/server-usage.bench.ts [--quick]` runs this suite alone (npm run bench runs it with the others).
if (import.meta.url === `file://${process.argv[1]}`) {
  const { markdownTable } = await import('./lib/stats.ts');
  console.log(markdownTable(await benchServerUsage(process.argv.includes('--quick'))));
}
