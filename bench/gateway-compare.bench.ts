// The gateway side by side, in one run against the project's fake provider on loopback: direct (the floor), the
// Iron Cage gateway with no plugins, and with cost + safety (redact) + reliability + sync all on; JSON and streams,
// at 1, 16 and 64 connections sending back to back. Plus the in-process path through agent.fetch.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Runtime } from '../core/index.ts';
import type { IronConfig } from '../core/config/schema.ts';
import { runLoad } from './lib/load.ts';
import { startJsonLineProcess, stop } from './lib/processes.ts';
import { summarize, type Row } from './lib/stats.ts';



export async function benchGatewayCompare(quick: boolean): Promise<Row[]> {
  const fake = await startJsonLineProcess([new URL('../test/fake-provider/main.ts', import.meta.url).pathname]);
  const host = new URL('./gateway-host.ts', import.meta.url).pathname;
  const bare = await startJsonLineProcess([host, fake.info.url, '0']);
  const full = await startJsonLineProcess([host, fake.info.url, 'all']);
  const targets = [
    { name: 'direct to the fake provider', url: fake.info.url, key: 'k' },
    { name: 'Iron Cage, no plugins', url: bare.info.url, key: bare.info.credential },
    { name: 'Iron Cage, cost + safety + reliability + sync', url: full.info.url, key: full.info.credential },
  ];
  const rows: Row[] = [];
  try {
    for (const stream of [false, true]) {
      const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 200, messages: [{ role: 'user', content: 'benchmark prompt of a typical size for jane.doe@example.org '.repeat(6) }], stream });
      for (const connections of [1, 16, 64]) {
        const requests = quick ? (connections === 1 ? 300 : 1500) : connections === 1 ? 2000 : 8000;
        const run = (target: (typeof targets)[number]) =>
          runLoad({ url: `${target.url}/v1/chat/completions`, headers: { authorization: `Bearer ${target.key}` }, body, connections, requests, maxMs: quick ? 8000 : 30_000 });
        for (const target of targets) await run(target); // warm every path first
        const results = [];
        for (const target of targets) results.push(await run(target));
        const direct = results[0]!;
        const floor = summarize(stream ? direct.firstByteMs : direct.totalMs);
        const floorLast = summarize(direct.totalMs);
        results.forEach((result, i) => {
          const first = summarize(stream ? result.firstByteMs : result.totalMs);
          const last = summarize(result.totalMs);
          const rps = (result.totalMs.length / result.elapsedMs) * 1000;
          rows.push({
            path: targets[i]!.name,
            mode: stream ? 'stream' : 'json',
            conns: connections,
            'req/s': rps,
            '% of direct req/s': (rps / ((direct.totalMs.length / direct.elapsedMs) * 1000)) * 100,
            'p50 ms (streams: first chunk)': first.p50,
            'added p50 ms': first.p50 - floor.p50,
            'added p99 ms': first.p99 - floor.p99,
            'last chunk added p50 ms': stream ? last.p50 - floorLast.p50 : Number.NaN,
            errors: result.errors + result.non2xx,
          });
        });
      }
    }
  } finally {
    await stop(full.child);
    await stop(bare.child);
    await stop(fake.child);
  }
  return rows;
}

/** The official openai client through agent.fetch in process, one call after another: calls/s on one core. */
export async function benchInProcess(quick: boolean): Promise<Row[]> {
  const fake = await startJsonLineProcess([new URL('../test/fake-provider/main.ts', import.meta.url).pathname]);
  const calls = quick ? 500 : 3000;
  const rows: Row[] = [];
  try {
    for (const all of [false, true]) {
      let config: IronConfig = {};
      if (all) {
        const dir = mkdtempSync(join(tmpdir(), 'iron-bench-inproc-'));
        const { buildApp } = await import('../server/app.ts');
        const admin = { email: 'bench@example.com', password: 'bench password long enough' };
        const server = await buildApp({ db: join(dir, 'iron.db'), admin });
        const url = await server.listen({ host: '127.0.0.1', port: 0 });
        const post = async (path: string, payload: object, authorization?: string) => (await server.inject({ method: 'POST', url: path, payload, ...(authorization ? { headers: { authorization } } : {}) })).json();
        const session = `Bearer ${(await post('/api/auth/login', admin)).accessToken}`;
        const project = await post('/api/projects', { name: 'bench' }, session);
        const { token } = await post('/api/tokens', { name: 'bench', projectId: project.id }, session);
        config = { budget: { limit: 1_000_000 }, safety: { entities: { EMAIL_ADDRESS: 'redact' } }, reliability: {}, sync: { server: url, token, outbox: join(dir, 'outbox.db') } } as IronConfig;
      }
      const runtime = new Runtime({ env: { OPENAI_API_KEY: 'bench', IRON_OPENAI_BASE_URL: `${fake.info.url}/v1` }, logLevel: 'silent', config });
      const latencies: number[] = [];
      let elapsed = 0;
      const id = await runtime.startAgent(async (agent) => {
        const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
        const ask = () => client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'write to jane.doe@example.org about the budget' }] });
        for (let i = 0; i < 100; i++) await ask();
        const started = performance.now();
        for (let i = 0; i < calls; i++) {
          const t0 = performance.now();
          await ask();
          latencies.push(performance.now() - t0);
        }
        elapsed = performance.now() - started;
      });
      await runtime.waitForAgent(id);
      await runtime.close();
      const s = summarize(latencies);
      rows.push({ path: all ? 'agent.fetch, cost + safety + reliability + sync' : 'agent.fetch, no plugins', 'calls/s': (calls / elapsed) * 1000, 'p50 ms': s.p50, 'p99 ms': s.p99 });
    }
  } finally {
    await stop(fake.child);
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { markdownTable } = await import('./lib/stats.ts');
  const quick = process.argv.includes('--quick');
  console.log(markdownTable(await benchGatewayCompare(quick)));
  console.log();
  console.log(markdownTable(await benchInProcess(quick)));
}
