// Stores a batch of runtime events once each and folds the new ones into the agents and llm_calls projections,
// committed before it resolves. The idempotency check and the insert are one statement (`insert … on conflict do
// nothing returning id`, race-free on PostgreSQL too); the projections follow as one upsert row per agent and
// call. Both dialects run the same SQL text (statements.ts): SQLite through better-sqlite3 with prepared
// statements and group commit (sqlite.ts), PostgreSQL as one multi-row statement per table (postgres.ts).
import type { EntityManager } from '@mikro-orm/core';
import type { IngestResult } from './batch.ts';
import { isSqlite } from '../db.ts';
import { ingestPostgres } from './postgres.ts';
import type { IncomingEvent } from './projections.ts';
import { ingestSqlite } from './sqlite.ts';

export type { IngestResult } from './batch.ts';
export { timeOf, type IncomingEvent } from './projections.ts';

/**
 * Stores the batch's new events and applies them to the projections. Resolves after commit, or with null when
 * the project does not exist; duplicates (already stored, or repeated within the batch) are counted and ignored.
 * `em` must not be inside a transaction.
 */
export function ingestBatch(em: EntityManager, projectId: string, events: IncomingEvent[]): Promise<IngestResult | null> {
  return isSqlite(em) ? ingestSqlite(em, projectId, events) : ingestPostgres(em, projectId, events);
}
