// Usage figures computed in SQL (one `sum … group by` per request) so a dashboard query over a million calls stays fast, on SQLite and PostgreSQL.
import type { EntityManager } from '@mikro-orm/core';
import { isSqlite } from '../db.ts';

export const GROUP_BY = ['hour', 'day', 'model', 'agent', 'provider', 'project'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface UsageFilter {
  from: Date;
  /** Exclusive. */
  to: Date;
  /** The projects the caller may see; 'all' for admins. */
  visible: string[] | 'all';
  projectId?: string;
  agentId?: string;
  model?: string;
  provider?: string;
}

export interface UsageFigures {
  calls: number;
  failedCalls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface UsageReport {
  from: string;
  to: string;
  groupBy: GroupBy;
  totals: UsageFigures;
  groups: Array<{ key: string } & UsageFigures>;
}

/** A time bound as the column stores it: epoch ms for SQLite, an ISO literal for PostgreSQL. */
export function timeParam(em: EntityManager, date: Date): number | string {
  return isSqlite(em) ? date.getTime() : date.toISOString();
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The group expression. Time buckets are integer epoch arithmetic (UTC hours/days since 1970) so both dialects
 * bucket identically without relying on session time zones.
 */
function groupExpression(sqlite: boolean, groupBy: GroupBy): string {
  switch (groupBy) {
    case 'hour':
      return sqlite ? `"time" / ${HOUR_MS}` : `floor(extract(epoch from "time") / 3600)::bigint`;
    case 'day':
      return sqlite ? `"time" / ${DAY_MS}` : `floor(extract(epoch from "time") / 86400)::bigint`;
    case 'model':
      return '"model"';
    case 'agent':
      return '"agent_id"';
    case 'provider':
      return '"provider"';
    case 'project':
      return '"project_id"';
  }
}

/** The `where` clause and its parameters shared by every usage query. */
export function usageWhere(em: EntityManager, filter: UsageFilter): { sql: string; params: unknown[] } {
  const clauses = ['"time" >= ?', '"time" < ?'];
  const params: unknown[] = [timeParam(em, filter.from), timeParam(em, filter.to)];
  if (filter.visible !== 'all') {
    clauses.push(`"project_id" in (${filter.visible.map(() => '?').join(', ')})`);
    params.push(...filter.visible);
  }
  const equal: Array<[string, string | undefined]> = [
    ['project_id', filter.projectId],
    ['agent_id', filter.agentId],
    ['model', filter.model],
    ['provider', filter.provider],
  ];
  for (const [column, value] of equal) {
    if (value === undefined) continue;
    clauses.push(`"${column}" = ?`);
    params.push(value);
  }
  return { sql: clauses.join(' and '), params };
}

const zero = (): UsageFigures => ({ calls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });

type Row = Record<string, unknown>;

/** One `sum … group by` over the raw calls. */
async function rawRows(em: EntityManager, filter: UsageFilter, groupBy: GroupBy): Promise<Row[]> {
  const where = usageWhere(em, filter);
  const sql =
    `select ${groupExpression(isSqlite(em), groupBy)} as "bucket", count(*) as "calls", ` +
    `sum(case when "status" = 'failed' then 1 else 0 end) as "failed", ` +
    `sum("input_tokens") as "input", sum("output_tokens") as "output", sum("cost_micros") as "micros" ` +
    `from "llm_calls" where ${where.sql} group by 1`;
  return em.getConnection().execute(sql, where.params);
}

/** Groups the hourly rollup can answer: it has no agent dimension. */
const ROLLUP_GROUPS: ReadonlySet<GroupBy> = new Set(['hour', 'day', 'model', 'provider', 'project']);

/** The same sums from `usage_hourly` (kept by triggers), for whole hours `[fromHour, toHour)`. */
async function rollupRows(em: EntityManager, filter: UsageFilter, groupBy: GroupBy, fromHour: number, toHour: number): Promise<Row[]> {
  const expression = groupBy === 'hour' ? '"hour"' : groupBy === 'day' ? '"hour" / 24' : groupBy === 'project' ? '"project_id"' : `"${groupBy}"`;
  const clauses = ['"hour" >= ?', '"hour" < ?'];
  const params: unknown[] = [fromHour, toHour];
  if (filter.visible !== 'all') {
    clauses.push(`"project_id" in (${filter.visible.map(() => '?').join(', ')})`);
    params.push(...filter.visible);
  }
  for (const [column, value] of [['project_id', filter.projectId], ['model', filter.model], ['provider', filter.provider]] as const) {
    if (value === undefined) continue;
    clauses.push(`"${column}" = ?`);
    params.push(value);
  }
  const sql =
    `select ${expression} as "bucket", sum("calls") as "calls", sum("failed_calls") as "failed", sum("input_tokens") as "input", ` +
    `sum("output_tokens") as "output", sum("cost_micros") as "micros" from "usage_hourly" where ${clauses.join(' and ')} group by 1 having sum("calls") <> 0`;
  return em.getConnection().execute(sql, params);
}

/**
 * Usage over a range: whole hours come from the hourly rollup (a few rows per hour, whatever the call volume),
 * the partial hours at each end from the raw calls. Queries by agent read the raw calls only.
 */
async function usageRows(em: EntityManager, filter: UsageFilter, groupBy: GroupBy): Promise<Row[]> {
  const fromHour = Math.ceil(filter.from.getTime() / HOUR_MS);
  const toHour = Math.floor(filter.to.getTime() / HOUR_MS);
  if (filter.agentId !== undefined || !ROLLUP_GROUPS.has(groupBy) || fromHour >= toHour) return rawRows(em, filter, groupBy);
  const parts = [rollupRows(em, filter, groupBy, fromHour, toHour)];
  if (filter.from.getTime() < fromHour * HOUR_MS) parts.push(rawRows(em, { ...filter, to: new Date(fromHour * HOUR_MS) }, groupBy));
  if (toHour * HOUR_MS < filter.to.getTime()) parts.push(rawRows(em, { ...filter, from: new Date(toHour * HOUR_MS) }, groupBy));
  const merged = new Map<string, { bucket: unknown; calls: number; failed: number; input: number; output: number; micros: number }>();
  for (const rows of await Promise.all(parts)) {
    for (const row of rows) {
      const key = String(row.bucket);
      const into = merged.get(key) ?? { bucket: row.bucket, calls: 0, failed: 0, input: 0, output: 0, micros: 0 };
      into.calls += Number(row.calls ?? 0);
      into.failed += Number(row.failed ?? 0);
      into.input += Number(row.input ?? 0);
      into.output += Number(row.output ?? 0);
      into.micros += Number(row.micros ?? 0);
      merged.set(key, into);
    }
  }
  return [...merged.values()];
}

export async function aggregateUsage(em: EntityManager, filter: UsageFilter, groupBy: GroupBy): Promise<UsageReport> {
  const report: UsageReport = { from: filter.from.toISOString(), to: filter.to.toISOString(), groupBy, totals: zero(), groups: [] };
  // Nothing visible: answer without a query (an empty `in ()` is invalid SQL anyway).
  if (filter.visible !== 'all' && filter.visible.length === 0) return report;
  const rows = await usageRows(em, filter, groupBy);

  // PostgreSQL returns bigint/numeric sums as strings: Number() everywhere. Micros stay integers until the end,
  // so totals are exact sums of integers and only the final division rounds.
  let totalMicros = 0;
  const buckets = rows.map((row) => {
    const micros = Number(row.micros ?? 0);
    totalMicros += micros;
    const figures = { calls: Number(row.calls), failedCalls: Number(row.failed ?? 0), inputTokens: Number(row.input ?? 0), outputTokens: Number(row.output ?? 0), costUsd: micros / 1e6 };
    report.totals.calls += figures.calls;
    report.totals.failedCalls += figures.failedCalls;
    report.totals.inputTokens += figures.inputTokens;
    report.totals.outputTokens += figures.outputTokens;
    return { bucket: row.bucket, micros, figures };
  });
  report.totals.costUsd = totalMicros / 1e6;

  if (groupBy === 'hour' || groupBy === 'day') {
    const size = groupBy === 'hour' ? HOUR_MS : DAY_MS;
    buckets.sort((a, b) => Number(a.bucket) - Number(b.bucket));
    report.groups = buckets.map((b) => ({ key: new Date(Number(b.bucket) * size).toISOString(), ...b.figures }));
  } else {
    buckets.sort((a, b) => b.micros - a.micros || String(a.bucket).localeCompare(String(b.bucket)));
    report.groups = buckets.map((b) => ({ key: String(b.bucket), ...b.figures }));
  }
  return report;
}
