// The gateway side by side, in one run against the project's fake provider on loopback, loaded by autocannon: direct
// (the floor), the Portkey AI Gateway (OSS, run locally), a bare Node proxy that only forwards (what Node's HTTP stack
// allows at best), the Iron Cage gateway with no plugins, and with cost + safety (redact) + reliability + sync all on
// (sync reporting to an `iron server` process); JSON and streams, at 1, 16 and 64 connections sending back to back.
// Plus the in-process path through agent.fetch.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Runtime } from '../core/index.ts';
import type { IronConfig } from '../core/config/schema.ts';
import { gatewayRequestBody, runAutocannon, type LoadResult } from './lib/load.ts';
import { cpuMicros, startBareProxy, startFakeProvider, startIronServer, startJsonLineProcess, startPortkey, stop } from './lib/processes.ts';
import { summarize, type Row } from './lib/stats.ts';

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** The process serving it, for its CPU time (none for the direct floor: that is the fake provider itself). */
  pid?: number;
  /** Why this target cannot be measured in a mode (it is shown in the table instead of figures). */
  unavailable?: Partial<Record<'json' | 'stream', string>>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One request, to tell a target that cannot serve a mode before loading it (Portkey's streams, say). */
async function probe(target: Target, body: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${target.url}/v1/chat/completions`, { method: 'POST', headers: { ...target.headers, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    if (response.ok && text.length > 0) return undefined;
    return `answers ${response.status}: ${text.replace(/\s+/g, ' ').slice(0, 80)}`;
  } catch (error) {
    return `fails: ${(error as Error).message}`;
  }
}

const rate = (result: LoadResult) => (result.elapsedMs > 0 ? (result.totalMs.length / result.elapsedMs) * 1000 : 0);

/** One target's rounds at one connection count. */
interface Measured {
  rates: number[];
  /** Each round's gateway CPU µs per request. */
  cpuPerRequest: number[];
  firstMs: number[];
  totalMs: number[];
  cpuMicros: number;
  requests: number;
  failures: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The median of round-by-round ratios `a[i] / b[i]` (NaN when `b` measured nothing). */
function pairedRatio(a: number[], b: number[]): number {
  const ratios = a.map((value, i) => value / b[i]!).filter(Number.isFinite);
  return ratios.length > 0 ? median(ratios) : Number.NaN;
}

export async function benchGatewayCompare(quick: boolean): Promise<Row[]> {
  const children: ChildProcess[] = [];
  const rows: Row[] = [];
  try {
    const fake = await startFakeProvider();
    children.push(fake.child);
    const server = await startIronServer();
    children.push(server.child);
    const portkey = await startPortkey(await freePort());
    children.push(portkey.child);
    const host = new URL('./gateway-host.ts', import.meta.url).pathname;
    const floor = await startBareProxy(fake.info.url!);
    children.push(floor.child);
    const bare = await startJsonLineProcess([host, fake.info.url!, '0']);
    children.push(bare.child);
    const full = await startJsonLineProcess([host, fake.info.url!, 'all', server.url, server.token]);
    children.push(full.child);

    const targets: Target[] = [
      { name: 'direct to the fake provider', url: fake.info.url!, headers: { authorization: 'Bearer k' } },
      {
        name: `Portkey AI Gateway ${portkey.version}, no guardrails`,
        url: portkey.url,
        // Portkey's own way to reach an OpenAI-compatible host that is not api.openai.com.
        headers: { authorization: 'Bearer k', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${fake.info.url}/v1` },
        pid: portkey.child.pid!,
      },
      { name: 'bare Node proxy (node:http + undici, forwards only)', url: floor.info.url!, headers: { authorization: 'Bearer k' }, pid: floor.child.pid! },
      { name: 'Iron Cage, no plugins', url: bare.info.url!, headers: { authorization: `Bearer ${bare.info.credential}` }, pid: bare.child.pid! },
      { name: 'Iron Cage, cost + safety + reliability + sync', url: full.info.url!, headers: { authorization: `Bearer ${full.info.credential}` }, pid: full.child.pid! },
    ];
    // Every target is measured in turn, round after round, and each figure is the median over the rounds: a burst of
    // other load on the shared cores then moves one round of every path alike, not one path's whole figure.
    const rounds = quick ? 2 : 3;
    const measureMs = quick ? 400 : 1500;
    // Each measured round follows a short load on the same path with no pause: a path that sat idle while the others
    // were measured pays a cold start (caches, JIT feedback) in its first tenths of a second, the larger its code the
    // more (a back-to-back series read 30-60 % more CPU a request in the 0.4 s after a 1.5 s pause than without one),
    // and a quick run's short rounds would mostly measure that.
    const primeMs = quick ? 300 : 500;
    // Before a mode's first round, every path serves this long: V8 keeps optimizing a busy gateway's code for several
    // seconds (a series of 0.4 s rounds on one path read the CPU a request falling for 3 s without plugins, 7 s with
    // all four, and the bare proxy's too); a production gateway runs that code hot.
    const warmUpMs = quick ? 4000 : 6000;

    for (const stream of [false, true]) {
      const mode = stream ? 'stream' : 'json';
      const body = gatewayRequestBody(stream);
      for (const target of targets) {
        const problem = await probe(target, body);
        if (problem) (target.unavailable ??= {})[mode] = problem;
      }
      for (const target of targets.filter((t) => !t.unavailable?.[mode])) {
        await runAutocannon({ url: `${target.url}/v1/chat/completions`, headers: target.headers, body, connections: 16, durationMs: warmUpMs });
      }
      for (const connections of [1, 16, 64]) {
        const run = (target: Target, durationMs: number) =>
          runAutocannon({ url: `${target.url}/v1/chat/completions`, headers: target.headers, body, connections, durationMs });
        const live = targets.filter((target) => !target.unavailable?.[mode]);
        const measured = new Map<Target, Measured>(live.map((target) => [target, { rates: [], cpuPerRequest: [], firstMs: [], totalMs: [], cpuMicros: 0, requests: 0, failures: 0 }]));
        for (let round = 0; round < rounds; round++) {
          for (const target of live) {
            await run(target, primeMs);
            const before = cpuMicros(target.pid);
            const result = await run(target, measureMs);
            const m = measured.get(target)!;
            m.rates.push(rate(result));
            // (Appended one by one: a spread of a fast machine's samples could exceed the argument limit.)
            for (const ms of stream ? result.firstByteMs : result.totalMs) m.firstMs.push(ms);
            for (const ms of result.totalMs) m.totalMs.push(ms);
            const used = cpuMicros(target.pid) - before;
            m.cpuMicros += used;
            m.cpuPerRequest.push(used / Math.max(1, result.totalMs.length));
            m.requests += result.totalMs.length;
            m.failures += result.errors + result.non2xx;
          }
        }
        const direct = measured.get(targets[0]!)!;
        const portkeyMeasured = measured.get(targets[1]!);
        const floorMeasured = measured.get(targets[2]!);
        const floorFirst = summarize(direct.firstMs);
        const floorLast = summarize(direct.totalMs);
        for (const target of targets) {
          const m = measured.get(target);
          if (!m) {
            const why = `n/a: ${target.unavailable?.[mode] ?? 'not measured'}`;
            rows.push({ path: target.name, mode, conns: connections, 'req/s': why, '% of direct req/s': '', '× Portkey req/s': '', 'p50 ms (streams: first chunk)': '', 'added p50 ms': '', 'added p99 ms': '', 'last chunk added p50 ms': '', 'gateway CPU µs/req': '', 'CPU ÷ bare proxy': '', errors: '' });
            continue;
          }
          const first = summarize(m.firstMs);
          const last = summarize(m.totalMs);
          rows.push({
            path: target.name,
            mode,
            conns: connections,
            'req/s': median(m.rates),
            // Ratios pair each round with the same round of the other path, then take the median.
            '% of direct req/s': pairedRatio(m.rates, direct.rates) * 100,
            '× Portkey req/s': portkeyMeasured ? pairedRatio(m.rates, portkeyMeasured.rates) : 'n/a',
            'p50 ms (streams: first chunk)': first.p50,
            'added p50 ms': first.p50 - floorFirst.p50,
            'added p99 ms': first.p99 - floorFirst.p99,
            'last chunk added p50 ms': stream ? last.p50 - floorLast.p50 : Number.NaN,
            'gateway CPU µs/req': m.cpuMicros / Math.max(1, m.requests),
            // The physical floor here: what Node's HTTP stack costs to forward the same request (issue 24's measure),
            // paired round by round as the rates are (the machine's speed drifts between rounds).
            'CPU ÷ bare proxy': target.pid === undefined || !floorMeasured ? Number.NaN : pairedRatio(m.cpuPerRequest, floorMeasured.cpuPerRequest),
            errors: m.failures,
          });
        }
      }
    }
  } finally {
    for (const child of children.reverse()) await stop(child);
  }
  return rows;
}

/** The official openai client through agent.fetch in process, one call after another: calls/s on one core. */
export async function benchInProcess(quick: boolean): Promise<Row[]> {
  const fake = await startFakeProvider();
  const calls = quick ? 500 : 3000;
  const rows: Row[] = [];
  let server: Awaited<ReturnType<typeof startIronServer>> | undefined;
  try {
    for (const all of [false, true]) {
      let config: IronConfig = {};
      if (all) {
        server = await startIronServer();
        const dir = mkdtempSync(join(tmpdir(), 'iron-bench-inproc-'));
        config = { budget: { limit: 1_000_000 }, safety: { entities: { EMAIL_ADDRESS: 'redact' } }, reliability: {}, sync: { server: server.url, token: server.token, outbox: join(dir, 'outbox.db') } } as IronConfig;
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
    if (server) await stop(server.child);
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
