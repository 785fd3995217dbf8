// The performance budget: every numeric target of the benchmarks, read back from the suites' rows after a run and
// checked. `npm run bench` prints it as the last table and stores it in results.json; with `--check` a missed budget
// makes the run exit 1 (the way to keep a figure from regressing without a timing assertion in `npm test`).
import type { Row } from './lib/stats.ts';
import { TITLES } from './titles.ts';

export interface Budget {
  /** The suite whose rows hold the figure (its title). */
  suite: string;
  what: string;
  /** The limit the figure must stay at or under (`max`), or reach (`min`). */
  max?: number;
  min?: number;
  unit: string;
  /** The figure, from the suite's rows; undefined when the run did not measure it. */
  measure(rows: Row[]): number | undefined;
}

export interface BudgetResult {
  suite: string;
  what: string;
  target: string;
  measured: number | null;
  /** null: not measured in this run (its suite was not run, failed, or could not measure it here). */
  met: boolean | null;
}

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** A column of the one row whose `key` column says `label` (a prefix is enough). */
function cell(rows: Row[], key: string, label: string, column: string, where: (row: Row) => boolean = () => true): number | undefined {
  const row = rows.find((r) => typeof r[key] === 'string' && (r[key] as string).startsWith(label) && where(r));
  return row ? num(row[column]) : undefined;
}

/** The largest value of a column over the rows that have it. */
function largest(rows: Row[], column: string, where: (row: Row) => boolean = () => true): number | undefined {
  const values = rows.filter(where).map((row) => num(row[column])).filter((value): value is number => value !== undefined);
  return values.length > 0 ? Math.max(...values) : undefined;
}

const ironServer = (row: Row) => typeof row.what === 'string' && row.what.startsWith('iron server');
const oneConnection = (row: Row) => row.load === '1 conn, back to back';
const gateway = (conns: number) => (row: Row) => row.mode === 'json' && row.conns === conns;
const streams = (conns: number) => (row: Row) => row.mode === 'stream' && row.conns === conns;
/** The gateway without plugins, in % of the bare proxy's req/s on the same rows (issue 24: the floor Node allows). */
function ofBareProxy(rows: Row[], where: (row: Row) => boolean): number | undefined {
  const ours = cell(rows, 'path', 'Iron Cage, no plugins', 'req/s', where);
  const floor = cell(rows, 'path', 'bare Node proxy', 'req/s', where);
  return ours === undefined || floor === undefined ? undefined : (ours / floor) * 100;
}

export const BUDGETS: Budget[] = [
  { suite: TITLES.hooks, what: 'hook pipeline with 4 no-op plugins, p50', max: 20, unit: 'µs', measure: (rows) => cell(rows, 'path', 'hook pipeline, 4 no-op plugins', 'p50 µs') },
  { suite: TITLES.gatewayLatency, what: 'gateway added latency, 1 connection, p50 (JSON and stream first chunk)', max: 1, unit: 'ms', measure: (rows) => largest(rows, 'added p50 ms', oneConnection) },
  { suite: TITLES.gatewayLatency, what: 'gateway added latency, 1 connection, p99 (JSON and stream first chunk)', max: 5, unit: 'ms', measure: (rows) => largest(rows, 'added p99 ms', oneConnection) },
  { suite: TITLES.cost, what: 'cost plugin, reserve + settle with a 4,000-token prompt, p50', max: 50, unit: 'µs', measure: (rows) => cell(rows, 'path', 'cost plugin overhead', 'p50 µs') },
  { suite: TITLES.detector, what: 'PII detector, all structured entities, mixed text', min: 50, unit: 'MB/s', measure: (rows) => cell(rows, 'entities', 'all structured', 'mixed MB/s') },
  { suite: TITLES.hostile, what: 'PII detector, slowest hostile 1 MB input', max: 200, unit: 'ms', measure: (rows) => largest(rows, 'max ms') },
  { suite: TITLES.reliability, what: 'reliability plugin, happy path, p50', max: 10, unit: 'µs', measure: (rows) => cell(rows, 'path', 'reliability overhead, happy path', 'p50 µs') },
  { suite: TITLES.reliability, what: 'reliability plugin, fail fast while open, p50', max: 1000, unit: 'µs', measure: (rows) => cell(rows, 'path', 'fail fast while the circuit is open', 'p50 µs') },
  { suite: TITLES.ingest, what: 'server ingest rate', min: 20_000, unit: 'events/s', measure: (rows) => num(rows.find(ironServer)?.['events/s']) },
  { suite: TITLES.ingest, what: 'server ingest batch latency, p99', max: 50, unit: 'ms', measure: (rows) => num(rows.find(ironServer)?.['p99 ms']) },
  { suite: TITLES.ingest, what: 'server ingest ÷ raw batched insert into the same file', min: 25, unit: '%', measure: (rows) => num(rows.find(ironServer)?.['% of raw']) },
  { suite: TITLES.scaleOut, what: 'two iron server instances on one PostgreSQL ÷ one, ingest events/s', min: 1.5, unit: '×', measure: (rows) => num(Number(String(rows.find((row) => String(row.what).startsWith('ingest, 2 instances'))?.['vs one instance'] ?? '').replace('×', '')) || undefined) },
  { suite: TITLES.scaleOut, what: 'cross-instance live delivery, p50', max: 100, unit: 'ms', measure: (rows) => num(rows.find((row) => String(row.what).startsWith('cross-instance'))?.['p50 ms']) },
  { suite: TITLES.usage, what: '/api/usage/aggregate over the last 30 days, p50 (slowest grouping)', max: 50, unit: 'ms', measure: (rows) => largest(rows, 'p50 ms', (row) => String(row.what).startsWith('last 30 days = every call')) },
  { suite: TITLES.gateways, what: 'gateway without plugins ÷ direct, JSON, 16 connections', min: 50, unit: '%', measure: (rows) => cell(rows, 'path', 'Iron Cage, no plugins', '% of direct req/s', gateway(16)) },
  // Issue 24: the earlier 10× Portkey target lay above what Node's HTTP stack serves here; the bare proxy is the floor.
  { suite: TITLES.gateways, what: 'gateway with all four plugins ÷ Portkey, JSON, 16 connections', min: 3, unit: '×', measure: (rows) => cell(rows, 'path', 'Iron Cage, cost + safety', '× Portkey req/s', gateway(16)) },
  { suite: TITLES.gateways, what: 'gateway with all four plugins ÷ Portkey, stream, 16 connections', min: 3, unit: '×', measure: (rows) => cell(rows, 'path', 'Iron Cage, cost + safety', '× Portkey req/s', streams(16)) },
  { suite: TITLES.gateways, what: 'gateway CPU per request with all four plugins ÷ bare proxy, JSON, 16 connections', max: 2.5, unit: '×', measure: (rows) => cell(rows, 'path', 'Iron Cage, cost + safety', 'CPU ÷ bare proxy', gateway(16)) },
  { suite: TITLES.gateways, what: 'gateway CPU per request with all four plugins ÷ bare proxy, stream, 16 connections', max: 3, unit: '×', measure: (rows) => cell(rows, 'path', 'Iron Cage, cost + safety', 'CPU ÷ bare proxy', streams(16)) },
  { suite: TITLES.gateways, what: 'gateway without plugins ÷ bare proxy req/s, JSON, 16 connections', min: 80, unit: '%', measure: (rows) => ofBareProxy(rows, gateway(16)) },
  { suite: TITLES.gateways, what: 'gateway without plugins ÷ bare proxy req/s, stream, 16 connections', min: 80, unit: '%', measure: (rows) => ofBareProxy(rows, streams(16)) },
  { suite: TITLES.gateways, what: 'gateway with all four plugins, added p50, JSON, 1 connection', max: 1, unit: 'ms', measure: (rows) => cell(rows, 'path', 'Iron Cage, cost + safety', 'added p50 ms', gateway(1)) },
  { suite: TITLES.sync, what: 'sync plugin on the call path, per event, p50', max: 50, unit: 'µs', measure: (rows) => cell(rows, 'what', 'sync overhead on the call path', 'p50 µs') },
  {
    suite: TITLES.sync,
    what: 'sync delivery, call finished → /ws event, p50',
    max: 100,
    unit: 'ms',
    measure: (rows) => {
      const micros = cell(rows, 'what', 'delivery:', 'p50 µs');
      return micros === undefined ? undefined : micros / 1000;
    },
  },
  { suite: TITLES.dashboard, what: 'dashboard page drawn with its data, slowest sample', max: 1000, unit: 'ms', measure: (rows) => largest(rows, 'max ms') },
  { suite: TITLES.streamRecovery, what: 'stream stalled mid-answer and continued: added beyond idleMs + one round trip, p50 (continuation)', max: 5, unit: 'ms', measure: (rows) => cell(rows, 'case', 'anthropic: stall added', 'p50 ms') },
  { suite: TITLES.streamRecovery, what: 'healthy 60-word stream, reliability plugin over none, p50', max: 3, unit: 'ms', measure: (rows) => cell(rows, 'case', 'overhead on healthy streams', 'p50 ms') },
  { suite: TITLES.sharedBudget, what: 'shared server budget used before the first refusal (JSON)', min: 95, unit: '%', measure: (rows) => cell(rows, 'what', '5 runtimes ×', 'used at 1st refusal %', (row) => String(row.what).endsWith('JSON')) },
  { suite: TITLES.sharedBudget, what: 'shared server budget used before the first refusal (streams)', min: 95, unit: '%', measure: (rows) => cell(rows, 'what', '5 runtimes ×', 'used at 1st refusal %', (row) => String(row.what).endsWith('streams')) },
  { suite: TITLES.sharedBudget, what: 'shared server budget used before the first refusal (1 busy runtime, 4 idle)', min: 95, unit: '%', measure: (rows) => cell(rows, 'what', '5 runtimes (1 busy)', 'used at 1st refusal %') },
  { suite: TITLES.telemetry, what: 'telemetry plugin on the call path, per call, p50', max: 20, unit: 'µs', measure: (rows) => cell(rows, 'path', 'telemetry overhead per call', 'p50 µs') },
  { suite: TITLES.webhookStorm, what: '/health p99 while 10,000 webhook deliveries fail', max: 50, unit: 'ms', measure: (rows) => cell(rows, 'what', '10 webhooks', 'health p99 ms') },
  { suite: TITLES.webhookStorm, what: '/health p99 while six 1,000-event ingest batches run at once', max: 50, unit: 'ms', measure: (rows) => cell(rows, 'what', '6 concurrent', 'health p99 ms') },
];

/** Every budget against a run's rows (by suite title); suites missing from the run are "not measured". */
export function checkBudgets(rowsBySuite: Record<string, Row[] | undefined>, budgets: Budget[] = BUDGETS): BudgetResult[] {
  return budgets.map((budget) => {
    const rows = rowsBySuite[budget.suite];
    const measured = rows ? budget.measure(rows) : undefined;
    const limit = (budget.max ?? budget.min)!.toLocaleString('en-US');
    const target = `${budget.max !== undefined ? '≤' : '≥'} ${limit} ${budget.unit}`;
    if (measured === undefined) return { suite: budget.suite, what: budget.what, target, measured: null, met: null };
    const met = (budget.max === undefined || measured <= budget.max) && (budget.min === undefined || measured >= budget.min);
    return { suite: budget.suite, what: budget.what, target, measured, met };
  });
}

/** The budget as table rows. */
export function budgetRows(results: BudgetResult[]): Row[] {
  return results.map((result) => ({
    budget: result.what,
    target: result.target,
    measured: result.measured ?? 'not measured',
    met: result.met === null ? '–' : result.met ? 'yes' : '**no**',
  }));
}
