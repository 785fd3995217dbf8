// Every benchmark suite: its title (the budgets refer to it), its target in words, and how to run it.
import { benchGatewayLatency, benchHookPipeline } from './core.bench.ts';
import { benchCostOverhead, benchTokenCounting } from './cost.bench.ts';
import { benchReliabilityOverhead } from './reliability.bench.ts';
import { benchServerIngest } from './server-ingest.bench.ts';
import { benchScaleOut } from './scale-out.bench.ts';
import { benchServerUsage } from './server-usage.bench.ts';
import { benchSync } from './sync.bench.ts';
import { benchTelemetryOverhead } from './telemetry.bench.ts';
import { benchGatewayCompare, benchInProcess } from './gateway-compare.bench.ts';
import { benchPiiPeers } from './pii-peers.bench.ts';
import { benchMemory } from './memory.bench.ts';
import { benchDashboardLoad } from './dashboard.bench.ts';
import { benchWebhookStorm } from './webhooks.bench.ts';
import { benchSharedBudget } from './shared-budget.bench.ts';
import { benchStreamRecovery } from './stream-recovery.bench.ts';
import { benchPythonRuntime } from './python-runtime.bench.ts';
import { benchDetectorThroughput, benchHostileInput, benchSafetyOverhead } from './safety.bench.ts';
import type { Row } from './lib/stats.ts';
import { TITLES } from './titles.ts';

export interface Suite {
  title: string;
  target: string;
  run: (quick: boolean) => Promise<Row[]>;
}

export const SUITES: Suite[] = [
  { title: TITLES.hooks, target: '4 no-op plugins: < 20 µs at p50', run: benchHookPipeline },
  { title: TITLES.gatewayLatency, target: '< 1 ms added at p50, < 5 ms at p99', run: benchGatewayLatency },
  { title: TITLES.cost, target: 'reserve + settle with a 4,000-token prompt: < 50 µs at p50', run: benchCostOverhead },
  { title: TITLES.tokens, target: 'reported in MB/s', run: benchTokenCounting },
  { title: TITLES.detector, target: 'structured entities: ≥ 50 MB/s single-core', run: benchDetectorThroughput },
  { title: TITLES.hostile, target: '< 200 ms each (linear time)', run: benchHostileInput },
  { title: TITLES.safety, target: 'reported: added latency on a 4 KB prompt', run: benchSafetyOverhead },
  { title: TITLES.reliability, target: 'happy path: < 10 µs p50; fail-fast while open: < 1 ms', run: benchReliabilityOverhead },
  {
    title: TITLES.ingest,
    target: '≥ 20,000 events/s in batches of 100, p99 < 50 ms, every event stored; ≥ 25 % of the raw insert rate into the same file',
    run: benchServerIngest,
  },
  { title: TITLES.scaleOut, target: 'two instances ≥ 1.5× one instance\'s events/s; cross-instance delivery p50 ≤ 100 ms (needs IRON_BENCH_PG_URL or IRON_TEST_PG_URL)', run: benchScaleOut },
  { title: TITLES.usage, target: 'p50 < 50 ms', run: benchServerUsage },
  {
    title: TITLES.gateways,
    target: 'no plugins ≥ 50 % of direct req/s (JSON) and ≥ 80 % of the bare Node proxy\'s req/s (JSON and stream); all four plugins ≥ 3× Portkey req/s (JSON and stream), gateway CPU per request ≤ 2.5× the bare proxy\'s (JSON) and ≤ 3× (stream), 16 connections; added p50 ≤ 1 ms at 1 connection',
    run: benchGatewayCompare,
  },
  { title: TITLES.inProcess, target: 'reported: calls/s on one core', run: benchInProcess },
  { title: TITLES.piiPeers, target: 'reported: MB/s, precision, recall, hard negatives', run: benchPiiPeers },
  { title: TITLES.memory, target: 'reported: RSS with 1,000 idle in-process agents and 100 process agents', run: benchMemory },
  { title: TITLES.sync, target: 'call path: an outbox append, < 50 µs p50; delivery to /ws: reported (server side: < 100 ms)', run: benchSync },
  { title: TITLES.dashboard, target: '< 1 s to the page drawn with its data', run: benchDashboardLoad },
  { title: TITLES.webhookStorm, target: '/health p99 ≤ 50 ms while 10,000 webhook deliveries fail, and while six 1,000-event batches are ingested', run: benchWebhookStorm },
  { title: TITLES.streamRecovery, target: 'a recovered break adds ≤ one round trip plus the stall timeout; healthy streams unchanged within noise', run: benchStreamRecovery },
  { title: TITLES.sharedBudget, target: 'never over the limit; ≥ 95 % of the limit used before the first refusal; calls/s reported', run: benchSharedBudget },
  { title: TITLES.pythonRuntime, target: 'a new Python runtime to the first call within 50 ms of `iron run` (median of 10); start_agent on a running runtime reported', run: benchPythonRuntime },
  { title: TITLES.telemetry, target: 'call path with a batching OTLP/HTTP exporter: ≤ 20 µs per call at p50', run: benchTelemetryOverhead },
];
