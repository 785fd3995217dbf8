// `npm run bench [-- --quick]`: every benchmark, printed as Markdown tables and written to bench/results.json.
import { writeFileSync } from 'node:fs';
import { benchGatewayLatency, benchHookPipeline } from './core.bench.ts';
import { benchCostOverhead, benchTokenCounting } from './cost.bench.ts';
import { benchReliabilityOverhead } from './reliability.bench.ts';
import { benchServerIngest } from './server-ingest.bench.ts';
import { benchServerUsage } from './server-usage.bench.ts';
import { benchSync } from './sync.bench.ts';
import { benchGatewayCompare, benchInProcess } from './gateway-compare.bench.ts';
import { benchPiiPeers } from './pii-peers.bench.ts';
import { benchMemory } from './memory.bench.ts';
import { benchDashboardLoad } from './dashboard.bench.ts';
import { benchDetectorThroughput, benchHostileInput, benchSafetyOverhead } from './safety.bench.ts';
import { markdownTable, type Row } from './lib/stats.ts';

const quick = process.argv.includes('--quick');
// `npm run bench -- --only cost` runs the suites whose title contains the word.
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]?.toLowerCase() : undefined;
const suites: Array<{ title: string; target: string; run: (quick: boolean) => Promise<Row[]> }> = [
  { title: 'Hook pipeline overhead per call', target: '4 no-op plugins: < 20 µs at p50', run: benchHookPipeline },
  { title: 'Gateway added latency over a direct call to the fake provider', target: '< 1 ms added at p50, < 5 ms at p99', run: benchGatewayLatency },
  { title: 'Cost plugin overhead per call', target: 'reserve + settle with a 4,000-token prompt: < 50 µs at p50', run: benchCostOverhead },
  { title: 'Token estimation throughput', target: 'reported in MB/s', run: benchTokenCounting },
  { title: 'PII detector throughput on mixed prompt text (safety)', target: 'structured entities: ≥ 50 MB/s single-core', run: benchDetectorThroughput },
  { title: 'PII detector on hostile 1 MB inputs (safety)', target: '< 200 ms each (linear time)', run: benchHostileInput },
  { title: 'Safety plugin overhead per call', target: 'reported: added latency on a 4 KB prompt', run: benchSafetyOverhead },
  { title: 'Reliability plugin overhead per call', target: 'happy path: < 10 µs p50; fail-fast while open: < 1 ms', run: benchReliabilityOverhead },
  {
    title: 'Server ingest throughput (iron server, SQLite file) against a raw SQLite batched insert',
    target: '≥ 20,000 events/s in batches of 100, p99 < 50 ms, every event stored; ≥ 25 % of the raw insert rate into the same file',
    run: benchServerIngest,
  },
  { title: 'Server usage aggregate latency over 1 million calls', target: 'p50 < 50 ms', run: benchServerUsage },
  {
    title: 'Gateway side by side: direct, Portkey, no plugins, all four plugins',
    target: 'no plugins ≥ 50 % of direct req/s; all four plugins ≥ 10× Portkey req/s at 16 connections and added p50 ≤ 1 ms at 1 connection',
    run: benchGatewayCompare,
  },
  { title: 'In-process path (agent.fetch with the openai client)', target: 'reported: calls/s on one core', run: benchInProcess },
  { title: 'PII detection side by side with npm alternatives', target: 'reported: MB/s, precision, recall, hard negatives', run: benchPiiPeers },
  { title: 'Memory', target: 'reported: RSS with 1,000 idle in-process agents and 100 process agents', run: benchMemory },
  { title: 'Sync plugin: call-path overhead and delivery latency', target: 'call path: an outbox append, < 50 µs p50; delivery to /ws: reported (server side: < 100 ms)', run: benchSync },
  { title: 'Dashboard load on localhost (Chromium)', target: '< 1 s to the page drawn with its data', run: benchDashboardLoad },
];

// Each suite's rows, target and duration; written after every suite, so a failed or interrupted run keeps what it had.
const results: Record<string, { target: string; seconds: number; rows: Row[]; error?: string }> = {};
const startedAt = new Date();
const write = (complete: boolean) =>
  writeFileSync(
    new URL('./results.json', import.meta.url),
    `${JSON.stringify({ quick, only: only ?? null, complete, node: process.version, at: startedAt.toISOString(), seconds: (Date.now() - startedAt.getTime()) / 1000, results }, null, 2)}\n`,
  );
console.log(`# Iron Cage benchmarks${quick ? ' (quick)' : ''}\n\nNode ${process.version}, ${startedAt.toISOString()}\n`);
for (const suite of suites.filter((s) => !only || s.title.toLowerCase().includes(only))) {
  const t0 = performance.now();
  try {
    const rows = await suite.run(quick);
    results[suite.title] = { target: suite.target, seconds: (performance.now() - t0) / 1000, rows };
    console.log(`## ${suite.title}\n\nTarget: ${suite.target}\n\n${markdownTable(rows)}\n`);
  } catch (error) {
    // One broken suite does not cost the others their figures; the run still ends with a failure.
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    results[suite.title] = { target: suite.target, seconds: (performance.now() - t0) / 1000, rows: [], error: message };
    console.log(`## ${suite.title}\n\nFAILED: ${message}\n`);
    process.exitCode = 1;
  }
  write(false);
}
write(true);
const total = (Date.now() - startedAt.getTime()) / 1000;
console.log(`Total: ${total.toFixed(0)} s (${Object.entries(results).map(([title, r]) => `${title.split(' (')[0]}: ${r.seconds.toFixed(0)} s`).join('; ')})`);
