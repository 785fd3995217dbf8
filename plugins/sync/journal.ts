// What a runtime has in flight, kept durably beside the outbox (same file, own tables): calls started and not yet
// ended (with their cost reservation), agents running, and the server leases it holds with their use. A runtime that
// is killed (SIGKILL, a crashed host, an OOM kill) leaves these rows behind; the next run from the same outbox, for
// the same server and token, finds them (their process is gone) and settles them: each call is reported failed with
// IRON_RUNTIME_KILLED at its reservation (the provider may have billed it; the reservation is the most it could
// cost), each agent as lost, and each lease is returned with its use plus what was in flight.
import Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { processAlive } from '../../core/process-alive.ts';
import { identityOf } from './outbox.ts';

export interface JournalIdentity {
  server: string;
  token: string;
}

export interface OrphanCall {
  callId: string;
  agentId: string;
  provider: string;
  model: string;
  reservedMicros: number;
  startedAt: number;
}

export interface OrphanAgent {
  agentId: string;
  name: string;
}

export interface OrphanLease {
  leaseId: string;
  limitId: string;
  usedMicros: number;
}

/** What one dead runtime left behind. */
export interface Orphan {
  owner: string;
  pid: number;
  calls: OrphanCall[];
  agents: OrphanAgent[];
  leases: OrphanLease[];
}

export class Journal {
  readonly #db: Database.Database;
  readonly #owner: string;
  readonly #identity: string;
  readonly #host = hostname();
  readonly #statements: {
    callStarted: Database.Statement<[string, string, string, string, string, number, number, string, string, number]>;
    callEnded: Database.Statement<[string]>;
    agentStarted: Database.Statement<[string, string, string, string, string, number]>;
    agentStopped: Database.Statement<[string]>;
    lease: Database.Statement<[string, string, number, string, string, string, number]>;
    leaseEnded: Database.Statement<[string]>;
  };

  /**
   * On the outbox's connection (its file, its pragmas; the outbox closes it): a finished call's events and the end of
   * its journal row go in one transaction (`Outbox.transaction`).
   */
  constructor(db: Database.Database, identity: JournalIdentity, owner: string) {
    this.#db = db;
    this.#owner = owner;
    // The token is never stored: a hash tells "the same token" apart from another one (as in the outbox).
    this.#identity = identityOf(identity.server, identity.token);
    const owned = 'owner text not null, identity text not null, host text not null, pid integer not null';
    // WITHOUT ROWID: a row lives in its primary key's b-tree alone, so a call's insert and delete dirty one page per
    // commit instead of two (the table and its key's index); each page is two writes to the WAL. (Files made by an
    // older version keep their rowid tables: same rows, same statements.)
    this.#db.exec(`
      create table if not exists journal_calls (call_id text primary key, agent_id text not null, provider text not null, model text not null, reserved_micros integer not null, started_at integer not null, ${owned}) without rowid;
      create table if not exists journal_agents (agent_id text primary key, name text not null, ${owned}) without rowid;
      create table if not exists journal_leases (lease_id text primary key, limit_id text not null, used_micros integer not null, ${owned}) without rowid;
    `);
    this.#statements = {
      callStarted: this.#db.prepare('insert or replace into journal_calls (call_id, agent_id, provider, model, owner, reserved_micros, started_at, identity, host, pid) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      callEnded: this.#db.prepare('delete from journal_calls where call_id = ?'),
      agentStarted: this.#db.prepare('insert or replace into journal_agents (agent_id, name, owner, identity, host, pid) values (?, ?, ?, ?, ?, ?)'),
      agentStopped: this.#db.prepare('delete from journal_agents where agent_id = ?'),
      lease: this.#db.prepare('insert or replace into journal_leases (lease_id, limit_id, used_micros, owner, identity, host, pid) values (?, ?, ?, ?, ?, ?, ?)'),
      leaseEnded: this.#db.prepare('delete from journal_leases where lease_id = ?'),
    };
  }

  callStarted(call: { callId: string; agentId: string; provider: string; model: string; reservedMicros: number }): void {
    this.#statements.callStarted.run(call.callId, call.agentId, call.provider, call.model, this.#owner, Math.round(call.reservedMicros), Date.now(), this.#identity, this.#host, process.pid);
  }

  /** Notes several calls in one transaction: the caller's (`Outbox.transaction`, shared with a turn's other writes), else its own. */
  callsStarted(calls: ReadonlyArray<{ callId: string; agentId: string; provider: string; model: string; reservedMicros: number }>): void {
    this.#inTransaction(() => {
      for (const call of calls) this.callStarted(call);
    }, calls.length);
  }

  callEnded(callId: string): void {
    this.#statements.callEnded.run(callId);
  }

  /** Forgets finished calls in one transaction (the caller's, else its own): one write to the log for a turn's calls. */
  callsEnded(callIds: readonly string[]): void {
    this.#inTransaction(() => {
      for (const id of callIds) this.#statements.callEnded.run(id);
    }, callIds.length);
  }

  /** Runs `work` in the open transaction, or in one of its own when it writes more than one row. */
  #inTransaction(work: () => void, rows: number): void {
    if (rows <= 1 || this.#db.inTransaction) work();
    else this.#db.transaction(work)();
  }

  agentStarted(agentId: string, name: string): void {
    this.#statements.agentStarted.run(agentId, name, this.#owner, this.#identity, this.#host, process.pid);
  }

  agentStopped(agentId: string): void {
    this.#statements.agentStopped.run(agentId);
  }

  /** The lease's settled use so far (updated on every settle, so a kill loses none of it). */
  lease(leaseId: string, limitId: string, usedMicros: number): void {
    this.#statements.lease.run(leaseId, limitId, Math.round(usedMicros), this.#owner, this.#identity, this.#host, process.pid);
  }

  leaseEnded(leaseId: string): void {
    this.#statements.leaseEnded.run(leaseId);
  }

  /**
   * What runtimes of this server and token on this host left behind when they died. Rows of a live process (another
   * runtime sharing the folder), of another host (a shared disk) or of another server or token are not touched.
   */
  orphans(): Orphan[] {
    const rows = this.#db.prepare<[string, string, string], { owner: string; pid: number }>(
      `select distinct owner, pid from (select owner, pid, identity, host from journal_calls union all select owner, pid, identity, host from journal_agents union all select owner, pid, identity, host from journal_leases) where identity = ? and host = ? and owner <> ?`,
    ).all(this.#identity, this.#host, this.#owner);
    return rows
      .filter((row) => !processAlive(row.pid))
      .map(({ owner, pid }) => ({
        owner,
        pid,
        calls: this.#db.prepare<[string], OrphanCall>('select call_id as callId, agent_id as agentId, provider, model, reserved_micros as reservedMicros, started_at as startedAt from journal_calls where owner = ?').all(owner),
        agents: this.#db.prepare<[string], OrphanAgent>('select agent_id as agentId, name from journal_agents where owner = ?').all(owner),
        leases: this.#db.prepare<[string], OrphanLease>('select lease_id as leaseId, limit_id as limitId, used_micros as usedMicros from journal_leases where owner = ?').all(owner),
      }));
  }

  /** Forgets a dead runtime's calls and agents once their events are in the outbox (its leases go one by one). */
  forgetReported(owner: string): void {
    this.#db.transaction(() => {
      this.#db.prepare('delete from journal_calls where owner = ?').run(owner);
      this.#db.prepare('delete from journal_agents where owner = ?').run(owner);
    })();
  }
}
