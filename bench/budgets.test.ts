// The performance budget reads the suites' rows: met, missed and not measured, from rows shaped as the suites write them.
import { describe, expect, it } from 'vitest';
import { BUDGETS, budgetRows, checkBudgets } from './budgets.ts';
import { TITLES } from './titles.ts';

const gatewayRows = (noPluginsPercent: number, allFourTimesPortkey: number, addedP50: number) => [
  { path: 'direct to the fake provider', mode: 'json', conns: 16, 'req/s': 20_000, '% of direct req/s': 100, '× Portkey req/s': 12, 'added p50 ms': 0 },
  { path: 'Iron Cage, no plugins', mode: 'json', conns: 1, 'req/s': 2_000, '% of direct req/s': 40, '× Portkey req/s': 2, 'added p50 ms': 0.2 },
  { path: 'Iron Cage, no plugins', mode: 'json', conns: 16, 'req/s': 10_000, '% of direct req/s': noPluginsPercent, '× Portkey req/s': 6, 'added p50 ms': 1.5 },
  { path: 'Iron Cage, no plugins', mode: 'stream', conns: 16, 'req/s': 9_000, '% of direct req/s': 10, '× Portkey req/s': 6, 'added p50 ms': 1.5 },
  { path: 'Iron Cage, cost + safety + reliability + sync', mode: 'json', conns: 1, 'req/s': 900, '% of direct req/s': 18, '× Portkey req/s': 1, 'added p50 ms': addedP50 },
  { path: 'Iron Cage, cost + safety + reliability + sync', mode: 'json', conns: 16, 'req/s': 2_000, '% of direct req/s': 10, '× Portkey req/s': allFourTimesPortkey, 'added p50 ms': 5 },
];

const find = (results: ReturnType<typeof checkBudgets>, what: string) => results.find((result) => result.what.startsWith(what))!;

describe('performance budget', () => {
  it('reads each figure from its own row (connections and mode) and compares it with its limit', () => {
    const results = checkBudgets({ [TITLES.gateways]: gatewayRows(51.2, 1.3, 0.52) });
    expect(find(results, 'gateway without plugins')).toMatchObject({ measured: 51.2, met: true, target: '≥ 50 %' });
    expect(find(results, 'gateway with all four plugins ÷ Portkey')).toMatchObject({ measured: 1.3, met: false });
    expect(find(results, 'gateway with all four plugins, added p50')).toMatchObject({ measured: 0.52, met: true, target: '≤ 1 ms' });

    const worse = checkBudgets({ [TITLES.gateways]: gatewayRows(49.9, 10, 1.01) });
    expect(find(worse, 'gateway without plugins').met).toBe(false);
    expect(find(worse, 'gateway with all four plugins ÷ Portkey').met).toBe(true);
    expect(find(worse, 'gateway with all four plugins, added p50').met).toBe(false);
  });

  it('says "not measured" for a suite that was not run, failed, or could not measure', () => {
    const results = checkBudgets({
      [TITLES.ingest]: undefined,
      [TITLES.dashboard]: [{ page: 'all', result: 'n/a: no Chromium at /usr/bin/chromium' }],
      [TITLES.hostile]: [{ input: '1 MB of "7"', 'max ms': 27 }, { input: '1 MB of ":"', 'max ms': 260 }],
    });
    expect(find(results, 'server ingest rate')).toMatchObject({ measured: null, met: null });
    expect(find(results, 'dashboard page drawn')).toMatchObject({ measured: null, met: null });
    // The slowest input decides.
    expect(find(results, 'PII detector, slowest hostile')).toMatchObject({ measured: 260, met: false });
    expect(budgetRows(results).find((row) => String(row.budget).startsWith('server ingest rate'))).toMatchObject({ measured: 'not measured', met: '–' });
  });

  it('takes the ingest figures from the server row, not the raw baseline', () => {
    const rows = [
      { what: 'raw SQLite insert into a copy of the same file', 'events/s': 150_000, '% of raw': 100, 'p99 ms': '–' },
      { what: 'iron server: POST /api/events, 100-event batches', 'events/s': 40_000, '% of raw': 26.7, 'p99 ms': 23 },
    ];
    const results = checkBudgets({ [TITLES.ingest]: rows });
    expect(find(results, 'server ingest rate')).toMatchObject({ measured: 40_000, met: true });
    expect(find(results, 'server ingest ÷ raw')).toMatchObject({ measured: 26.7, met: true });
    expect(find(results, 'server ingest batch latency')).toMatchObject({ measured: 23, met: true });
  });

  it("checks the gateway without plugins against the bare proxy's req/s, JSON and stream apart", () => {
    const rows = (json: number, stream: number) => [
      { path: 'bare Node proxy (node:http + undici, forwards only)', mode: 'json', conns: 16, 'req/s': 10_000 },
      { path: 'Iron Cage, no plugins', mode: 'json', conns: 16, 'req/s': json },
      { path: 'bare Node proxy (node:http + undici, forwards only)', mode: 'stream', conns: 16, 'req/s': 5_000 },
      { path: 'Iron Cage, no plugins', mode: 'stream', conns: 16, 'req/s': stream },
    ];
    const results = checkBudgets({ [TITLES.gateways]: rows(7_500, 4_200) });
    expect(find(results, 'gateway without plugins ÷ bare proxy req/s, JSON')).toMatchObject({ measured: 75, met: false, target: '≥ 80 %' });
    expect(find(results, 'gateway without plugins ÷ bare proxy req/s, stream')).toMatchObject({ measured: 84, met: true });
    const other = checkBudgets({ [TITLES.gateways]: rows(8_100, 3_000) });
    expect(find(other, 'gateway without plugins ÷ bare proxy req/s, JSON')).toMatchObject({ measured: 81, met: true });
    expect(find(other, 'gateway without plugins ÷ bare proxy req/s, stream')).toMatchObject({ measured: 60, met: false });
  });

  it('refers only to suites that exist, each budget with one limit', () => {
    const titles = new Set<string>(Object.values(TITLES));
    for (const budget of BUDGETS) {
      expect(titles.has(budget.suite), budget.what).toBe(true);
      expect((budget.max === undefined) !== (budget.min === undefined), budget.what).toBe(true);
    }
  });
});
