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

export async function spentMicros(em: EntityManager, limit: SpendScope, now = new Date(), before?: Date): Promise<number> {
  const clauses = ['"project_id" = ?'];
  const params: unknown[] = [limit.projectId];
  const start = periodStart(limit.period, now);
  if (start) {
    clauses.push('"time" >= ?');
    params.push(timeParam(em, start));
  }
  if (before) {
    clauses.push('"time" < ?');
    params.push(timeParam(em, before));
  }
  const connection = em.getConnection();
  const globbed = limit.scope === 'model' && /[*?]/.test(limit.target);
  if (limit.scope === 'agent' || limit.scope === 'provider' || (limit.scope === 'model' && !globbed)) {
    clauses.push(`"${limit.scope === 'agent' ? 'agent_id' : limit.scope}" = ?`);
    params.push(limit.target);
  }
  if (globbed) {
    // Match the glob in JS over the few distinct models: SQLite GLOB and PostgreSQL LIKE disagree on case and classes.
    const pattern = globToRegExp(limit.target);
    const rows: Array<{ model: string; micros: unknown }> = await connection.execute(`select "model", sum("cost_micros") as "micros" from "llm_calls" where ${clauses.join(' and ')} group by "model"`, params, 'all', em.getTransactionContext());
    return rows.filter((row) => pattern.test(row.model)).reduce((sum, row) => sum + Number(row.micros ?? 0), 0);
  }
  // Inside a transaction (lease grants), the query must run on the transaction's connection.
  const rows: Array<{ micros: unknown }> = await connection.execute(`select sum("cost_micros") as "micros" from "llm_calls" where ${clauses.join(' and ')}`, params, 'all', em.getTransactionContext());
  return Number(rows[0]?.micros ?? 0);
}
