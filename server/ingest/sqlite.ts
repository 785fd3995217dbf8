// Ingest on SQLite: one transaction per batch through better-sqlite3 with statements prepared once, while holding
// Kysely's lock on the one connection (MikroORM's queries and transactions wait meanwhile). better-sqlite3 is
// synchronous: a 1,000-event batch holds the event loop for tens of milliseconds, and six at once kept /health
// waiting for hundreds. So the transaction is written in slices of at most SLICE_MS, yielding between them.
// Sharing one transaction among concurrent batches (group commit) was measured: about 3 % less CPU, not kept.
// The events insert counts its changes instead of returning ids: a batch without stored events (nearly all of them)
// needs no list back; one with some is rolled back and written again, with `returning "id"`.
import type { EntityManager } from '@mikro-orm/core';
import type { Database, Statement } from 'better-sqlite3';
import { freshEvents, ingestResult, uniqueEvents, type IngestResult, type UniqueEvent } from './batch.ts';
import { boolOf, kysely, SQLITE } from './db.ts';
import { projectionWrites, type IncomingEvent } from './projections.ts';
import { INSERT_EVENTS, insertSql, type WriteStatement } from './statements.ts';

/**
 * Rows per statement, largest first: a few statements per table to prepare, and few to run for any batch size (a
 * runtime's batch of 28 events runs 20 + 5 + 2 + 1, not 10 + 10 + 8 × 1: each run costs a few µs of its own).
 */
const STATEMENT_ROWS = [100, 50, 20, 10, 5, 2, 1];
/** The longest one batch holds the event loop before other requests (/health, reads, other batches' parsing) run. */
const SLICE_MS = 4;

const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

type Ingest = (projectId: string, events: IncomingEvent[]) => Promise<IngestResult | null>;

const prepared = new WeakMap<Database, Ingest>();

/** A transaction rolled back to be written again (see insertEvents). */
const REPEAT = Symbol('repeat');

/** The better-sqlite3 handle behind an EntityManager (SQLite has one connection). */
export async function nativeDatabase(em: EntityManager): Promise<Database> {
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
  /** Prepared statements by table and group size (negative: with the RETURNING clause). */
  const compiled = new Map<WriteStatement, Map<number, Statement<unknown[]>>>();
  const statementFor = (statement: WriteStatement, rows: number, returning: string) => {
    let bySize = compiled.get(statement);
    if (!bySize) compiled.set(statement, (bySize = new Map()));
    const key = returning ? -rows : rows;
    let found = bySize.get(key);
    if (!found) bySize.set(key, (found = database.prepare<unknown[]>(insertSql(statement, rows, false, returning))));
    return found;
  };
  let sliceStart = 0;
  /**
   * Runs `rows` through multi-row statements of the group sizes. Returns the rows changed (inserted or updated), and
   * with `returning` the RETURNING rows too.
   */
  const write = async (statement: WriteStatement, rows: unknown[][], returning = ''): Promise<{ changes: number; returned: Array<Record<string, unknown>> }> => {
    const returned: Array<Record<string, unknown>> = [];
    let changes = 0;
    let at = 0;
    for (const size of STATEMENT_ROWS) {
      if (rows.length - at < size) continue;
      const compiledStatement = statementFor(statement, size, returning);
      for (; rows.length - at >= size; at += size) {
        if (performance.now() - sliceStart > SLICE_MS) {
          await yieldToOthers();
          sliceStart = performance.now();
        }
        const params: unknown[] = [];
        for (let row = at; row < at + size; row++) for (const value of rows[row]!) params.push(value);
        if (returning) for (const row of compiledStatement.all(params) as Array<Record<string, unknown>>) returned.push(row);
        else changes += compiledStatement.run(params).changes;
      }
    }
    return { changes, returned };
  };
  const storePrompts = database.prepare<[string], { store_prompts: number }>('select "store_prompts" from "projects" where "id" = ?');
  // BEGIN IMMEDIATE: the write lock from the start, so another process on the file cannot force a lock upgrade to fail.
  const begin = database.prepare('BEGIN IMMEDIATE');
  const commit = database.prepare('COMMIT');
  const rollback = database.prepare('ROLLBACK');
  /**
   * Stores the new events and returns their ids; undefined when some were stored already (a re-sent batch) and the
   * ids were not asked for (`returning`): only RETURNING tells which, so the caller writes the batch again with it.
   */
  const insertEvents = async (unique: UniqueEvent[], returning: boolean): Promise<Set<string> | undefined> => {
    const rows = unique.map((u) => u.row);
    if (!returning) {
      const { changes } = await write(INSERT_EVENTS, rows);
      return changes === unique.length ? new Set(unique.map((u) => u.event.id)) : undefined;
    }
    const inserted = new Set<string>();
    for (const row of (await write(INSERT_EVENTS, rows, '"id"')).returned) inserted.add(row.id as string);
    return inserted;
  };
  /** One transaction for the batch; REPEAT when it was rolled back to be written again with `returning`. */
  const attempt = async (projectId: string, events: IncomingEvent[], returning: boolean): Promise<IngestResult | null | typeof REPEAT> => {
    sliceStart = performance.now();
    begin.run();
    try {
      const project = storePrompts.get(projectId);
      if (!project) {
        rollback.run();
        return null;
      }
      const unique = uniqueEvents(projectId, events, boolOf(project.store_prompts), SQLITE);
      const inserted = await insertEvents(unique, returning);
      if (!inserted) {
        rollback.run();
        return REPEAT;
      }
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
  const ingest: Ingest = async (projectId, events) => {
    const result = await attempt(projectId, events, false);
    return result === REPEAT ? ((await attempt(projectId, events, true)) as IngestResult | null) : result;
  };
  prepared.set(database, ingest);
  return ingest;
}
