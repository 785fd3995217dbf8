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
import { benchSqliteRatio } from './sqlite-ratio.bench.ts';
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
  { title: 'Server ingest throughput (iron server, SQLite file)', target: '≥ 20,000 events/s in batches of 100, p99 < 50 ms, every event stored', run: benchServerIngest },
  { title: 'Server usage aggregate latency over 1 million calls', target: 'p50 < 50 ms', run: benchServerUsage },
  { title: 'Gateway side by side: direct, no plugins, all four plugins', target: 'no plugins ≥ 50 % of direct req/s; all plugins: added p50 ≤ 1 ms', run: benchGatewayCompare },
  { title: 'In-process path (agent.fetch with the openai client)', target: 'reported: calls/s on one core', run: benchInProcess },
  { title: 'PII detection side by side with npm alternatives', target: 'reported: MB/s, precision, recall, hard negatives', run: benchPiiPeers },
  { title: 'Server ingest against a raw SQLite batched insert', target: 'ingest ≥ 25 % of the raw insert rate', run: benchSqliteRatio },
  { title: 'Memory', target: 'reported: RSS with 1,000 idle in-process agents and 100 process agents', run: benchMemory },
  { title: 'Sync plugin: call-path overhead and delivery latency', target: 'call path: an outbox append, < 50 µs p50; delivery to /ws: reported (server side: < 100 ms)', run: benchSync },
  { title: 'Dashboard load on localhost (Chromium)', target: '< 1 s to the page drawn with its data', run: benchDashboardLoad },
];

const results: Record<string, Row[]> = {};
console.log(`# Iron Cage benchmarks${quick ? ' (quick)' : ''}\n\nNode ${process.version}, ${new Date().toISOString()}\n`);
for (const suite of suites.filter((s) => !only || s.title.toLowerCase().includes(only))) {
  const rows = await suite.run(quick);
  results[suite.title] = rows;
  console.log(`## ${suite.title}\n\nTarget: ${suite.target}\n\n${markdownTable(rows)}\n`);
}
writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify({ quick, node: process.version, at: new Date().toISOString(), results }, null, 2)}\n`);
