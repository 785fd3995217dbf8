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

/** A row as acknowledged: which one, and how many events it holds. */
interface AckedRow {
  seq: number;
  id: string;
  n: number;
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
/**
 * Acknowledged events are deleted with the next write (`transaction`), not in a commit of their own. Past this many
 * waiting, or on close, they are deleted at once. Until then a crash leaves them in the file and the next run sends
 * them again, which the server counts as duplicates and ignores.
 */
const DELETE_AT_EVENTS = 1000;

export class Outbox {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[string, string, string, number]>;
  readonly #peek: Database.Statement<[string, number], OutboxRow>;
  readonly #count: Database.Statement<[string], { n: number }>;
  readonly #total: Database.Statement<[], { n: number }>;
  readonly #upTo: Database.Statement<[string, number], AckedRow>;
  readonly #delete: Database.Statement<[number, string]>;
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
  /**
   * Rows acknowledged and not yet deleted, by seq: no longer handed out nor counted. A row is deleted by its seq and
   * id together: once the table is empty SQLite hands out low seqs again, and a seq alone could then name a new row.
   */
  #acked = new Map<number, AckedRow>();
  /** The events of those rows. */
  #ackedEvents = 0;
  /** The rows of the last peek, so that acknowledging them needs no query. */
  #peeked: AckedRow[] = [];

  constructor(file: string, maxEvents: number, identity = '', rowEvents = 100) {
    this.#rowEvents = Math.max(1, rowEvents);
    if (file !== ':memory:') createPrivately(file);
    this.#db = new Database(file);
    this.#identity = identity;
    // WAL + synchronous=normal: an append survives a process crash (SIGKILL) without an fsync per event.
    this.#db.pragma('journal_mode = wal');
    this.#db.pragma('synchronous = normal');
    // `seq` is the rowid (no AUTOINCREMENT: that costs a second table write per append). It still only grows while
    // the outbox holds events: a row is only ever deleted after every row of its identity before it. No unique index
    // on `id`: it was a third b-tree written on every append and delete (a WAL page each), and guarded nothing the
    // plugin can do (an event's id is made when it is recorded, once) that the server does not (it ignores a repeated
    // id). Files made by older versions keep theirs.
    this.#db.exec('create table if not exists outbox (seq integer primary key, id text not null, body text not null)');
    // Files of older versions have no identity column: their rows get none (NULL), so no run sends them — said once.
    const columns = this.#db.prepare<[], { name: string }>('pragma table_info(outbox)').all().map((column) => column.name);
    if (!columns.includes('identity')) this.#db.exec('alter table outbox add column identity text');
    if (!columns.includes('n')) this.#db.exec('alter table outbox add column n integer not null default 1');
    this.#db.exec('create index if not exists outbox_identity_seq on outbox (identity, seq)');
    this.#insert = this.#db.prepare('insert or ignore into outbox (id, body, identity, n) values (?, ?, ?, ?)');
    this.#peek = this.#db.prepare('select seq, id, body, n from outbox where identity = ? order by seq limit ?');
    this.#upTo = this.#db.prepare('select seq, id, n from outbox where identity = ? and seq <= ?');
    this.#count = this.#db.prepare('select coalesce(sum(n), 0) as n from outbox where identity = ?');
    this.#total = this.#db.prepare('select coalesce(sum(n), 0) as n from outbox');
    this.#delete = this.#db.prepare('delete from outbox where seq = ? and id = ?');
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
    // A repeated id is skipped within a row; across rows the server ignores a repeat (the plugin's ids are fresh v7
    // UUIDs; files of older versions also have a unique index on single-event rows' ids).
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
    for (const row of this.#waitingRows(limit)) {
      if (row.n === 1) entries.push({ seq: row.seq, id: row.id, body: row.body });
      else {
        const ids = row.id.split(ID_SEPARATOR);
        const bodies = row.body.split(BODY_SEPARATOR);
        for (let i = 0; i < bodies.length; i++) entries.push({ seq: row.seq, id: ids[i] ?? row.id, body: bodies[i]! });
      }
    }
    return entries;
  }

  /**
   * The events `peek` would hand out, as the items of a JSON array: the rows' bodies as stored, joined by commas
   * (no string per event). Undefined when none wait.
   */
  peekBatch(limit: number): { items: string; events: number; lastSeq: number } | undefined {
    const rows = this.#waitingRows(limit);
    if (rows.length === 0) return undefined;
    let events = 0;
    for (const row of rows) events += row.n;
    return { items: rows.map((row) => row.body).join(','), events, lastSeq: rows[rows.length - 1]!.seq };
  }

  /** The oldest rows not acknowledged, whole, with at most `limit` events (more only when the first row holds more). */
  #waitingRows(limit: number): OutboxRow[] {
    const rows: OutboxRow[] = [];
    let events = 0;
    // Acknowledged rows not deleted yet are the oldest: read past them.
    for (const row of this.#peek.iterate(this.#identity, limit + this.#acked.size)) {
      if (this.#acked.get(row.seq)?.id === row.id) continue;
      if (events > 0 && events + row.n > limit) break;
      rows.push(row);
      events += row.n;
      if (events >= limit) break;
    }
    this.#peeked = rows.map(({ seq, id, n }) => ({ seq, id, n }));
    return rows;
  }

  /** Removes events the server acknowledged (stored or already known): from the count at once, from the file with the next write. */
  ack(upToSeq: number): void {
    const last = this.#peeked.at(-1);
    // The rows the last peek handed out, or (acknowledging past them) the file's.
    const rows = last !== undefined && upToSeq <= last.seq ? this.#peeked.filter((row) => row.seq <= upToSeq) : this.#upTo.all(this.#identity, upToSeq);
    for (const row of rows) {
      if (this.#acked.get(row.seq)?.id === row.id) continue;
      this.#acked.set(row.seq, row);
      this.#ackedEvents += row.n;
      this.#size -= row.n;
      this.#all -= row.n;
    }
    this.#peeked = this.#peeked.filter((row) => row.seq > upToSeq);
    if (this.#ackedEvents >= DELETE_AT_EVENTS && !this.#db.inTransaction) {
      try {
        this.transaction(() => undefined);
      } catch {
        // Deleted with the next write that succeeds; until then a crash only means they are sent again.
      }
    }
  }

  /** The open connection, for the journal kept in the same file (journal.ts). */
  get connection(): Database.Database {
    return this.#db;
  }

  /**
   * Runs `work` in one transaction of this connection (one commit for the outbox and the journal together), which
   * also deletes the rows acknowledged since the last one.
   */
  transaction<T>(work: () => T): T {
    const [size, all] = [this.#size, this.#all];
    // Only the outermost transaction deletes: a nested one (a savepoint) could still be rolled back with its parent.
    const deleting = this.#db.inTransaction ? [] : [...this.#acked.values()];
    try {
      const result = this.#transaction(() => {
        for (const row of deleting) this.#delete.run(row.seq, row.id);
        return work();
      }) as T;
      for (const row of deleting) {
        this.#acked.delete(row.seq);
        this.#ackedEvents -= row.n;
      }
      return result;
    } catch (error) {
      // Rolled back (a full disk, say): none of it counts, and the acknowledged rows wait for the next write.
      this.#size = size;
      this.#all = all;
      throw error;
    }
  }

  close(): void {
    try {
      if (this.#acked.size > 0) this.transaction(() => undefined);
    } catch {
      // Left in the file: the next run sends them again and the server ignores them.
    }
    this.#db.close();
  }
}
