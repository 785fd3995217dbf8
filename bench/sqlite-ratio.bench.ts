// The raw SQLite baseline for server ingest: how fast the very same events go into the `events` table when nothing
// but the insert runs. Like with like, so that server / raw measures only what the server adds:
// - the same file: a copy of the server's own freshly migrated database (same tables, indexes and triggers, same
//   page size, WAL journal), in the same directory as the server's;
// - the same connection settings as server/db.ts: WAL, synchronous=normal, 64 MiB page cache, 256 MiB mmap,
//   temp_store=memory;
// - the same events: the server benchmark's generator (same mix, sizes and id scheme), each stored as the server
//   stores it (id, project_id, agent_id, type, time in epoch ms, the event's JSON as payload);
// - the same batches: one transaction per 100 events, written by one prepared 100-row
//   `insert into events … values (…), …` (no conflict clause, no RETURNING), through better-sqlite3.
// Only the transactions are timed (begin to commit), in wall-clock and in CPU time; generating and serializing the
// events is not. The rate is the median over half-second slices, taken before and after the server's run. What the raw
// insert leaves out is what the ratio charges to the server: HTTP, JSON parsing and validation, the API token
// check, deduplication by id, the agents and llm_calls projections with the usage_hourly triggers, and publishing.
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';

/** Half a second of insert time: the rate is read per slice, so a burst of other load on the machine moves the median little. */
export interface RawInsertSlice {
  events: number;
  wallMs: number;
  /** This process's CPU time (user + system) during the slice's transactions. */
  cpuMs: number;
}

export interface RawInsertResult {
  slices: RawInsertSlice[];
  /** Average payload (event JSON) size in bytes. */
  payloadBytes: number;
  /** Rows in the table after the run, counted back from the file. */
  stored: number;
  /** Rows this run inserted (warm-up included). */
  inserted: number;
}

const SLICE_MS = 500;

/** Raw batched inserts into the `events` table of `file`, for `seconds` of insert time, measured in slices. */
export function rawInsert(file: string, seconds: number, nextBody: () => string): RawInsertResult {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = wal');
    db.pragma('synchronous = normal');
    db.pragma('cache_size = -65536');
    db.pragma('mmap_size = 268435456');
    db.pragma('temp_store = memory');
    const projectId = randomUUID();
    let statement: Database.Statement<unknown[]> | undefined;
    let batchSize = 0;
    let payloadBytes = 0;
    let expected = 0;
    /** The next batch as bound parameters (untimed). */
    const nextParams = (): unknown[] => {
      const events = (JSON.parse(nextBody()) as { events: Array<{ id: string; type: string; time: number; agentId?: string }> }).events;
      if (!statement) {
        batchSize = events.length;
        statement = db.prepare<unknown[]>(`insert into events (id, project_id, agent_id, type, time, payload) values ${new Array(batchSize).fill('(?, ?, ?, ?, ?, ?)').join(', ')}`);
      }
      if (events.length !== batchSize) throw new Error(`batches must all hold ${batchSize} events`);
      const params: unknown[] = [];
      for (const event of events) {
        const payload = JSON.stringify(event);
        payloadBytes += Buffer.byteLength(payload);
        params.push(event.id, projectId, event.agentId ?? null, event.type, event.time, payload);
      }
      expected += events.length;
      return params;
    };
    const insertBatch = db.transaction((params: unknown[]) => statement!.run(params));

    // Warm up (statement, page cache, JIT), then measure.
    for (let i = 0; i < 20; i++) insertBatch(nextParams());
    const slices: RawInsertSlice[] = [];
    let slice: RawInsertSlice = { events: 0, wallMs: 0, cpuMs: 0 };
    while (slices.length < (seconds * 1000) / SLICE_MS) {
      const params = nextParams();
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      insertBatch(params);
      const cpu = process.cpuUsage(cpu0);
      slice.wallMs += performance.now() - t0;
      slice.cpuMs += (cpu.user + cpu.system) / 1000;
      slice.events += batchSize;
      if (slice.wallMs >= SLICE_MS) {
        slices.push(slice);
        slice = { events: 0, wallMs: 0, cpuMs: 0 };
      }
    }
    const stored = (db.prepare('select count(*) as n from events').get() as { n: number }).n;
    return { slices, payloadBytes: payloadBytes / expected, stored, inserted: expected };
  } finally {
    db.close();
  }
}
