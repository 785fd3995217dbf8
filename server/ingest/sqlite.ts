// Ingest on SQLite: one transaction per batch through better-sqlite3 with statements prepared once, while holding
// Kysely's lock on the one connection (MikroORM's queries and transactions wait meanwhile). better-sqlite3 is
// synchronous: a 1,000-event batch holds the event loop for tens of milliseconds, and six at once kept /health
// waiting for hundreds. So the transaction is written in slices of at most SLICE_MS, yielding between them.
// Sharing one transaction among concurrent batches (group commit) was measured: about 3 % less CPU, not kept.
import type { EntityManager } from '@mikro-orm/core';
import type { Database, Statement } from 'better-sqlite3';
import { freshEvents, ingestResult, uniqueEvents, type IngestResult } from './batch.ts';
import { boolOf, kysely, SQLITE } from './db.ts';
import { projectionWrites, type IncomingEvent } from './projections.ts';
import { INSERT_EVENTS, insertSql, type WriteStatement } from './statements.ts';

/** Rows per statement, largest first: a few statements per table to prepare, whatever the batch size. */
const STATEMENT_ROWS = [100, 10, 1];
/** The longest one batch holds the event loop before other requests (/health, reads, other batches' parsing) run. */
const SLICE_MS = 4;

const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

type Ingest = (projectId: string, events: IncomingEvent[]) => Promise<IngestResult | null>;

const prepared = new WeakMap<Database, Ingest>();

/** The better-sqlite3 handle behind an EntityManager (SQLite has one connection). */
async function nativeDatabase(em: EntityManager): Promise<Database> {
  const connection = em.getConnection() as unknown as { getNativeClient(): Promise<Database> };
  return connection.getNativeClient();
}

export async function ingestSqlite(em: EntityManager, projectId: string, events: IncomingEvent[]): Promise<IngestResult | null> {
  const ingest = sqliteIngest(await nativeDatabase(em));
  return kysely(em).connection().execute(async () => ingest(projectId, events));
}

/** Statements prepared once per database (SQLite parses each new text), one per table and group size. */
function sqliteIngest(database: Database): Ingest {
  const existing = prepared.get(database);
  if (existing) return existing;
  const compiled = new Map<WriteStatement, Map<number, Statement<unknown[]>>>();
  const statementFor = (statement: WriteStatement, rows: number) => {
    let bySize = compiled.get(statement);
    if (!bySize) compiled.set(statement, (bySize = new Map()));
    let found = bySize.get(rows);
    if (!found) bySize.set(rows, (found = database.prepare<unknown[]>(insertSql(statement, rows, false, statement === INSERT_EVENTS ? '"id"' : ''))));
    return found;
  };
  let sliceStart = 0;
  /** Runs `rows` through multi-row statements of the group sizes; returns the RETURNING rows (inserted event ids). */
  const write = async (statement: WriteStatement, rows: unknown[][]): Promise<Array<Record<string, unknown>>> => {
    const returned: Array<Record<string, unknown>> = [];
    let at = 0;
    for (const size of STATEMENT_ROWS) {
      if (rows.length - at < size) continue;
      const compiledStatement = statementFor(statement, size);
      for (; rows.length - at >= size; at += size) {
        if (performance.now() - sliceStart > SLICE_MS) {
          await yieldToOthers();
          sliceStart = performance.now();
        }
        const params: unknown[] = [];
        for (let row = at; row < at + size; row++) for (const value of rows[row]!) params.push(value);
        if (compiledStatement.reader) for (const row of compiledStatement.all(params) as Array<Record<string, unknown>>) returned.push(row);
        else compiledStatement.run(params);
      }
    }
    return returned;
  };
  const storePrompts = database.prepare<[string], { store_prompts: number }>('select "store_prompts" from "projects" where "id" = ?');
  // BEGIN IMMEDIATE: the write lock from the start, so another process on the file cannot force a lock upgrade to fail.
  const begin = database.prepare('BEGIN IMMEDIATE');
  const commit = database.prepare('COMMIT');
  const rollback = database.prepare('ROLLBACK');
  const ingest: Ingest = async (projectId, events) => {
    sliceStart = performance.now();
    begin.run();
    try {
      const project = storePrompts.get(projectId);
      if (!project) {
        rollback.run();
        return null;
      }
      const unique = uniqueEvents(projectId, events, boolOf(project.store_prompts), SQLITE);
      const inserted = new Set<string>();
      for (const row of await write(INSERT_EVENTS, unique.map((u) => u.row))) inserted.add(row.id as string);
      if (inserted.size > 0) {
        for (const { statement, rows } of projectionWrites(projectId, freshEvents(unique, inserted), SQLITE)) await write(statement, rows);
      }
      commit.run();
      return ingestResult(projectId, events, unique, inserted);
    } catch (error) {
      if (database.inTransaction) rollback.run();
      throw error;
    }
  };
  prepared.set(database, ingest);
  return ingest;
}
