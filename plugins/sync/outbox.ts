// The durable outbox: every event is appended to a local SQLite file before it is sent, and removed only when the
// server acknowledged it, so a crash, a SIGKILL or a server outage loses nothing.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface OutboxEntry {
  seq: number;
  id: string;
  body: string;
}

export class Outbox {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[string, string]>;
  readonly #peek: Database.Statement<[number], OutboxEntry>;
  readonly #count: Database.Statement<[], { n: number }>;
  readonly #ack: Database.Statement<[number]>;
  readonly #appendMany: (entries: ReadonlyArray<{ id: string; body: string }>) => number;
  readonly maxEvents: number;
  #size: number;

  constructor(file: string, maxEvents: number) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    // WAL + synchronous=normal: an append survives a process crash (SIGKILL) without an fsync per event.
    this.#db.pragma('journal_mode = wal');
    this.#db.pragma('synchronous = normal');
    // `seq` is the rowid (no AUTOINCREMENT: that costs a second table write per append). It still only grows while
    // the outbox holds events: a row is only ever deleted after every row before it.
    this.#db.exec('create table if not exists outbox (seq integer primary key, id text not null unique, body text not null)');
    this.#insert = this.#db.prepare('insert or ignore into outbox (id, body) values (?, ?)');
    this.#peek = this.#db.prepare('select seq, id, body from outbox order by seq limit ?');
    this.#count = this.#db.prepare('select count(*) as n from outbox');
    this.#ack = this.#db.prepare('delete from outbox where seq <= ?');
    this.#appendMany = this.#db.transaction((entries: ReadonlyArray<{ id: string; body: string }>) => {
      let accepted = 0;
      for (const { id, body } of entries) {
        if (this.full) break;
        this.#size += this.#insert.run(id, body).changes;
        accepted++;
      }
      return accepted;
    });
    this.maxEvents = maxEvents;
    this.#size = this.#count.get()!.n;
  }

  /** Events waiting to be acknowledged (including those a previous run left behind). */
  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#size >= this.maxEvents;
  }

  /** Appends one event; false when the outbox is full (the caller must say so loudly). */
  append(id: string, body: string): boolean {
    if (this.full) return false;
    this.#size += this.#insert.run(id, body).changes;
    return true;
  }

  /**
   * Appends events in order, in one transaction (one write to the log instead of one per event); returns how many
   * were taken before the outbox was full (the caller must say so loudly about the rest).
   */
  appendMany(entries: ReadonlyArray<{ id: string; body: string }>): number {
    if (entries.length === 0) return 0;
    const size = this.#size;
    try {
      return this.#appendMany(entries);
    } catch (error) {
      // The transaction was rolled back (a full disk, say): none of it counts.
      this.#size = size;
      throw error;
    }
  }

  /** The oldest `limit` events, in the order they were recorded. */
  peek(limit: number): OutboxEntry[] {
    return this.#peek.all(limit);
  }

  /** Removes events the server acknowledged (stored or already known). */
  ack(upToSeq: number): void {
    this.#size -= this.#ack.run(upToSeq).changes;
  }

  close(): void {
    this.#db.close();
  }
}
