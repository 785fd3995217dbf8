// What a budget limit has spent in its current period, summed in SQL from llm_calls (micro-USD integers, exact).
import type { EntityManager } from '@mikro-orm/core';
import { timeParam } from './aggregate.ts';
import { globToRegExp } from '../../core/glob.ts';

export type Period = 'hour' | 'day' | 'month' | 'total';

export interface SpendScope {
  projectId: string;
  scope: 'project' | 'agent' | 'provider' | 'model';
  target: string;
  period: Period;
}

/** Start of the current period in UTC, the same calendar the runtime's budgets use; null for 'total'. */
export function periodStart(period: Period, now = new Date()): Date | null {
  switch (period) {
    case 'hour':
      return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), now.getUTCHours()));
    case 'day':
      return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    case 'month':
      return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    case 'total':
      return null;
  }
}

/**
 * What the limit spent in its period, and how much of that came before `split` (a limit's first lease): one pass over
 * llm_calls for both, on the transaction's connection when there is one.
 */
export async function spentMicrosSplit(em: EntityManager, limit: SpendScope, now = new Date(), split?: Date): Promise<{ spent: number; beforeSplit: number }> {
  const clauses = ['"project_id" = ?'];
  const params: unknown[] = [limit.projectId];
  const start = periodStart(limit.period, now);
  if (start) {
    clauses.push('"time" >= ?');
    params.push(timeParam(em, start));
  }
  const globbed = limit.scope === 'model' && /[*?]/.test(limit.target);
  if (limit.scope === 'agent' || limit.scope === 'provider' || (limit.scope === 'model' && !globbed)) {
    clauses.push(`"${limit.scope === 'agent' ? 'agent_id' : limit.scope}" = ?`);
    params.push(limit.target);
  }
  const sums = split ? 'sum("cost_micros") as "micros", sum(case when "time" < ? then "cost_micros" else 0 end) as "early"' : 'sum("cost_micros") as "micros"';
  const allParams = split ? [timeParam(em, split), ...params] : params;
  const connection = em.getConnection();
  const rowsOf = async (sql: string): Promise<Array<{ model?: string; micros: unknown; early?: unknown }>> => connection.execute(sql, allParams, 'all', em.getTransactionContext());
  let rows: Array<{ model?: string; micros: unknown; early?: unknown }>;
  if (globbed) {
    // Match the glob in JS over the few distinct models: SQLite GLOB and PostgreSQL LIKE disagree on case and classes.
    const pattern = globToRegExp(limit.target);
    rows = (await rowsOf(`select "model", ${sums} from "llm_calls" where ${clauses.join(' and ')} group by "model"`)).filter((row) => pattern.test(row.model ?? ''));
  } else {
    rows = await rowsOf(`select ${sums} from "llm_calls" where ${clauses.join(' and ')}`);
  }
  return {
    spent: rows.reduce((sum, row) => sum + Number(row.micros ?? 0), 0),
    beforeSplit: rows.reduce((sum, row) => sum + Number(row.early ?? 0), 0),
  };
}

/**
 * A budget limit's spend set against its leases (those of the period): what was ingested, what the leases reported
 * using, and what was spent before the first lease (outside every lease for certain). A lease may report use its
 * runtime's outbox has not delivered yet, so neither figure alone is the whole truth.
 */
export async function leasedSpend(em: EntityManager, limit: SpendScope, leases: ReadonlyArray<{ usedMicros: number; createdAt: Date }>, now = new Date()): Promise<{ spent: number; reported: number; beforeLeases: number }> {
  const firstLease = leases.reduce<Date | undefined>((first, lease) => (!first || lease.createdAt < first ? lease.createdAt : first), undefined);
  const { spent, beforeSplit } = await spentMicrosSplit(em, limit, now, firstLease);
  return { spent, reported: leases.reduce((sum, lease) => sum + lease.usedMicros, 0), beforeLeases: beforeSplit };
}
