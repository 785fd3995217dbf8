// The durable outbox: every event is appended to a local SQLite file before it is sent, and removed only when the
// server acknowledged it, so a crash, a SIGKILL or a server outage loses nothing.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface OutboxEntry {
  seq: number;
  id: string;
  body: string;
}

/**
 * Who recorded an event: the server it was for and a hash of the API token (never the token). A run sends only its
 * own identity's events, so events recorded under a revoked token or for another project's token are never sent
 * under the next run's token into that run's project.
 */
export function identityOf(server: string, token: string): string {
  return `${server.replace(/\/$/, '')} ${createHash('sha256').update(token).digest('hex').slice(0, 32)}`;
}

/** Creates the outbox file (and its folder) readable by this user alone: events name agents, models and costs. */
function createPrivately(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) writeFileSync(file, '', { mode: 0o600, flag: 'a' });
  else if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
}

/** A stored row: one event, or several recorded together (`n` of them). */
interface OutboxRow {
  seq: number;
  id: string;
  body: string;
  n: number;
}

/**
 * The events of a row: bodies joined by a comma and a line break (JSON.stringify never writes a raw line break, so the
 * split is exact, and a version that reads the row as one body still sends valid JSON), ids by a space.
 */
const BODY_SEPARATOR = ',\n';
const ID_SEPARATOR = ' ';

export class Outbox {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[string, string, string, number]>;
  readonly #peek: Database.Statement<[string, number], OutboxRow>;
  readonly #count: Database.Statement<[string], { n: number }>;
  readonly #total: Database.Statement<[], { n: number }>;
  readonly #ack: Database.Statement<[number, string], { n: number }>;
  /** One transaction function for the connection, made once (better-sqlite3 builds four wrappers per `transaction`). */
  readonly #transaction: (work: () => unknown) => unknown;
  readonly #identity: string;
  readonly maxEvents: number;
  /** This identity's events waiting. */
  #size: number;
  /** Every event in the file (the cap counts them all). */
  #all: number;

  /** At most this many events share a row (the client's batch size: a batch takes whole rows). */
  readonly #rowEvents: number;

  constructor(file: string, maxEvents: number, identity = '', rowEvents = 100) {
    this.#rowEvents = Math.max(1, rowEvents);
    if (file !== ':memory:') createPrivately(file);
    this.#db = new Database(file);
    this.#identity = identity;
    // WAL + synchronous=normal: an append survives a process crash (SIGKILL) without an fsync per event.
    this.#db.pragma('journal_mode = wal');
    this.#db.pragma('synchronous = normal');
    // `seq` is the rowid (no AUTOINCREMENT: that costs a second table write per append). It still only grows while
    // the outbox holds events: a row is only ever deleted after every row of its identity before it.
    this.#db.exec('create table if not exists outbox (seq integer primary key, id text not null unique, body text not null)');
    // Files of older versions have no identity column: their rows get none (NULL), so no run sends them — said once.
    const columns = this.#db.prepare<[], { name: string }>('pragma table_info(outbox)').all().map((column) => column.name);
    if (!columns.includes('identity')) this.#db.exec('alter table outbox add column identity text');
    if (!columns.includes('n')) this.#db.exec('alter table outbox add column n integer not null default 1');
    this.#db.exec('create index if not exists outbox_identity_seq on outbox (identity, seq)');
    this.#insert = this.#db.prepare('insert or ignore into outbox (id, body, identity, n) values (?, ?, ?, ?)');
    this.#peek = this.#db.prepare('select seq, id, body, n from outbox where identity = ? order by seq limit ?');
    this.#count = this.#db.prepare('select coalesce(sum(n), 0) as n from outbox where identity = ?');
    this.#total = this.#db.prepare('select coalesce(sum(n), 0) as n from outbox');
    this.#ack = this.#db.prepare('delete from outbox where seq <= ? and identity = ? returning n');
    this.#transaction = this.#db.transaction((work: () => unknown) => work());
    this.maxEvents = maxEvents;
    this.#size = this.#count.get(identity)!.n;
    this.#all = this.#total.get()!.n;
  }

  /** Events of other identities (other servers or tokens, or an older version's) waiting in the file. */
  othersWaiting(): number {
    return this.#all - this.#size;
  }

  /** Events waiting to be acknowledged (including those a previous run left behind). */
  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#all >= this.maxEvents;
  }

  /** Appends one event; false when the outbox is full (the caller must say so loudly). */
  append(id: string, body: string): boolean {
    if (this.full) return false;
    this.#insertRow(id, body, 1);
    return true;
  }

  /**
   * Appends events in order, in one transaction (the caller's, when it runs inside `transaction`), as few rows as
   * `rowEvents` allows: a row per event cost a b-tree insert in three indexes each, and as many deletes when the server
   * took them. Returns how many were taken before the outbox was full (the caller must say so loudly about the rest).
   */
  appendMany(entries: ReadonlyArray<{ id: string; body: string }>): number {
    if (entries.length === 0) return 0;
    return this.#db.inTransaction ? this.#appendRows(entries) : this.transaction(() => this.#appendRows(entries));
  }

  #appendRows(entries: ReadonlyArray<{ id: string; body: string }>): number {
    const room = this.maxEvents - this.#all;
    const taken = Math.max(0, Math.min(entries.length, room));
    if (entries.length === 1 && taken === 1) {
      this.#insertRow(entries[0]!.id, entries[0]!.body, 1);
      return 1;
    }
    // A repeated id is skipped within a row; across rows the unique index catches it for single-event rows (the
    // plugin's ids are fresh v7 UUIDs, and the server ignores a repeat anyway).
    const seen = new Set<string>();
    let ids: string[] = [];
    let bodies: string[] = [];
    for (let i = 0; i < taken; i++) {
      const { id, body } = entries[i]!;
      if (seen.has(id)) continue;
      seen.add(id);
      ids.push(id);
      bodies.push(body);
      if (ids.length === this.#rowEvents) {
        this.#insertRow(ids.join(ID_SEPARATOR), bodies.join(BODY_SEPARATOR), ids.length);
        ids = [];
        bodies = [];
      }
    }
    if (ids.length > 0) this.#insertRow(ids.join(ID_SEPARATOR), bodies.join(BODY_SEPARATOR), ids.length);
    return taken;
  }

  #insertRow(id: string, body: string, events: number): void {
    if (this.#insert.run(id, body, this.#identity, events).changes === 0) return;
    this.#size += events;
    this.#all += events;
  }

  /**
   * The oldest events, in the order they were recorded, in whole rows: at most `limit` unless the first row holds
   * more. The events of one row share its `seq` (they are acknowledged together).
   */
  peek(limit: number): OutboxEntry[] {
    const entries: OutboxEntry[] = [];
    for (const row of this.#peek.iterate(this.#identity, limit)) {
      if (entries.length > 0 && entries.length + row.n > limit) break;
      if (row.n === 1) entries.push({ seq: row.seq, id: row.id, body: row.body });
      else {
        const ids = row.id.split(ID_SEPARATOR);
        const bodies = row.body.split(BODY_SEPARATOR);
        for (let i = 0; i < bodies.length; i++) entries.push({ seq: row.seq, id: ids[i] ?? row.id, body: bodies[i]! });
      }
      if (entries.length >= limit) break;
    }
    return entries;
  }

  /** Removes events the server acknowledged (stored or already known). */
  ack(upToSeq: number): void {
    let removed = 0;
    for (const row of this.#ack.all(upToSeq, this.#identity)) removed += row.n;
    this.#size -= removed;
    this.#all -= removed;
  }

  /** The open connection, for the journal kept in the same file (journal.ts). */
  get connection(): Database.Database {
    return this.#db;
  }

  /** Runs `work` in one transaction of this connection (one commit for the outbox and the journal together). */
  transaction<T>(work: () => T): T {
    const [size, all] = [this.#size, this.#all];
    try {
      return this.#transaction(work) as T;
    } catch (error) {
      // Rolled back (a full disk, say): none of it counts.
      this.#size = size;
      this.#all = all;
      throw error;
    }
  }

  close(): void {
    this.#db.close();
  }
}
