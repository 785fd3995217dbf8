// Ingest on PostgreSQL: one transaction per batch, one multi-row statement per table (a round trip each).
import type { EntityManager } from '@mikro-orm/core';
import { CompiledQuery, type Transaction } from 'kysely';
import { freshEvents, ingestResult, uniqueEvents, type IngestResult } from './batch.ts';
import { boolOf, kysely, POSTGRES, type IngestDb } from './db.ts';
import { projectionWrites, type IncomingEvent } from './projections.ts';
import { INSERT_EVENTS, insertSql, type WriteStatement } from './statements.ts';

/** Rows per statement: 14 columns × 500 stays far below PostgreSQL's 65,535 bound parameters. */
const CHUNK = 500;

async function write(trx: Transaction<IngestDb>, statement: WriteStatement, rows: unknown[][], returning = ''): Promise<Array<Record<string, unknown>>> {
  const returned: Array<Record<string, unknown>> = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    const result = await trx.executeQuery<Record<string, unknown>>(CompiledQuery.raw(insertSql(statement, part.length, true, returning), part.flat()));
    returned.push(...result.rows);
  }
  return returned;
}

export async function ingestPostgres(em: EntityManager, projectId: string, events: IncomingEvent[]): Promise<IngestResult | null> {
  return kysely(em)
    .transaction()
    .execute(async (trx) => {
      const project = await trx.selectFrom('projects').select('store_prompts').where('id', '=', projectId).executeTakeFirst();
      if (!project) return null;
      const unique = uniqueEvents(projectId, events, boolOf(project.store_prompts), POSTGRES);
      const inserted = new Set<string>();
      for (const row of await write(trx, INSERT_EVENTS, unique.map((u) => u.row), '"id"')) inserted.add(row.id as string);
      if (inserted.size > 0) {
        for (const { statement, rows } of projectionWrites(projectId, freshEvents(unique, inserted), POSTGRES)) await write(trx, statement, rows);
      }
      return ingestResult(projectId, events, unique, inserted);
    });
}
