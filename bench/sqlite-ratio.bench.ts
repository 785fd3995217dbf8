// SQLite ingest ratio: how close the server's event ingest gets to the storage limit. Measures a raw batched
// insert rate (better-sqlite3, WAL + synchronous=normal, transactions of 100 rows through one prepared
// multi-row statement) into the `events` table of a database migrated by the server itself, then runs the
// server ingest benchmark and reports server / raw (the target is at least 25 %).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { buildApp } from '../server/app.ts';
import { benchServerIngest } from './server-ingest.bench.ts';
import { markdownTable, type Row } from './lib/stats.ts';

const BATCH = 100;
const AGENTS = 64;

/** A ~400-byte JSON payload, shaped like a completed LLM call. */
function payload(agentId: string, callId: string, now: number): string {
  const base = `{"type":"LlmCallCompleted","time":${now},"agentId":"${agentId}","callId":"${callId}","provider":"openai","model":"gpt-4o-mini","stream":true,"usage":{"inputTokens":1200,"outputTokens":300,"cacheReadTokens":0,"cacheWriteTokens":0,"reasoningTokens":0},"finishReason":"stop","latencyMs":850,"complete":true`;
  return `${base},"pad":"${'x'.repeat(Math.max(0, 400 - base.length - 10))}"}`;
}

/** Events per second of raw batched inserts into the server's `events` table, for `seconds`. */
export async function rawInsertRate(seconds: number): Promise<{ eventsPerSecond: number; events: number; payloadBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'iron-sqlite-ratio-'));
  const file = join(dir, 'raw.db');
  try {
    // The server's migrations create the schema (table and indexes) exactly as production has it.
    const app = await buildApp({ db: file, logger: false });
    await app.close();

    const db = new Database(file);
    db.pragma('journal_mode = wal');
    db.pragma('synchronous = normal');
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = memory');
    const values = new Array(BATCH).fill('(?, ?, ?, ?, ?, ?)').join(', ');
    const insert = db.prepare(`insert into events (id, project_id, agent_id, type, time, payload) values ${values}`);
    const projectId = randomUUID();
    const agents = Array.from({ length: AGENTS }, () => randomUUID());
    const run = randomUUID().slice(0, 8);
    const params: unknown[] = new Array(BATCH * 6);
    let seq = 0;
    const insertBatch = db.transaction(() => {
      const now = Date.now();
      const agentId = agents[(seq / BATCH) % AGENTS]!;
      for (let i = 0; i < BATCH; i++) {
        const id = `${run}-${(seq += 1)}`;
        const o = i * 6;
        params[o] = id;
        params[o + 1] = projectId;
        params[o + 2] = agentId;
        params[o + 3] = 'LlmCallCompleted';
        params[o + 4] = now;
        params[o + 5] = payload(agentId, id, now);
      }
      insert.run(...params);
    });
    const payloadBytes = Buffer.byteLength(payload(agents[0]!, `${run}-1`, Date.now()));

    // Warm up (page cache, statement), then measure.
    for (let i = 0; i < 20; i++) insertBatch();
    const start = seq;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let now = t0;
    while (now < end) {
      insertBatch();
      now = performance.now();
    }
    const events = seq - start;
    const count = (db.prepare('select count(*) as n from events').get() as { n: number }).n;
    db.close();
    if (count !== seq) throw new Error(`expected ${seq} stored events, found ${count}`);
    return { eventsPerSecond: events / ((now - t0) / 1000), events, payloadBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchSqliteRatio(quick: boolean): Promise<Row[]> {
  const raw = await rawInsertRate(quick ? 2 : 5);
  const [server] = await benchServerIngest(quick);
  const serverRate = Number(server?.['events/s']);
  if (!Number.isFinite(serverRate)) throw new Error(`server ingest returned no events/s: ${JSON.stringify(server)}`);
  const ratio = (serverRate / raw.eventsPerSecond) * 100;
  return [
    { what: `raw SQLite insert (better-sqlite3, WAL, ${BATCH}-row transactions, ~${raw.payloadBytes}-byte payload)`, value: raw.eventsPerSecond, unit: 'events/s' },
    { what: 'server ingest (POST /api/events, batches of 100)', value: serverRate, unit: 'events/s' },
    { what: `server / raw (target ≥ 25 %)${ratio >= 25 ? '' : ' — below target'}`, value: ratio, unit: '%' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  console.log(markdownTable(await benchSqliteRatio(quick)));
}
