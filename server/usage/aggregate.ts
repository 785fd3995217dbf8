// Usage figures computed in SQL (one `sum … group by` per request) so a dashboard query over a million calls stays fast, on SQLite and PostgreSQL.
import type { EntityManager } from '@mikro-orm/core';
import { SqlitePlatform } from '@mikro-orm/sqlite';

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

/** SQLite stores MikroORM datetimes as integer epoch milliseconds; PostgreSQL as timestamptz. */
export function isSqlite(em: EntityManager): boolean {
  return em.getPlatform() instanceof SqlitePlatform;
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

export async function aggregateUsage(em: EntityManager, filter: UsageFilter, groupBy: GroupBy): Promise<UsageReport> {
  const report: UsageReport = { from: filter.from.toISOString(), to: filter.to.toISOString(), groupBy, totals: zero(), groups: [] };
  // Nothing visible: answer without a query (an empty `in ()` is invalid SQL anyway).
  if (filter.visible !== 'all' && filter.visible.length === 0) return report;
  const sqlite = isSqlite(em);
  const where = usageWhere(em, filter);
  const sql =
    `select ${groupExpression(sqlite, groupBy)} as "bucket", count(*) as "calls", ` +
    `sum(case when "status" = 'failed' then 1 else 0 end) as "failed", ` +
    `sum("input_tokens") as "input", sum("output_tokens") as "output", sum("cost_micros") as "micros" ` +
    `from "llm_calls" where ${where.sql} group by 1`;
  const rows: Array<Record<string, unknown>> = await em.getConnection().execute(sql, where.params);

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
