// The sync plugin: every event worth reporting goes into the durable outbox before the call it belongs to answers (the
// only work on the call path), and the client sends the outbox to the server in batches. Taps at STAGE.sync.
import { randomUUID } from 'node:crypto';
import { timeOrderedId } from '../../core/ids.ts';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, IRON_RUNTIME_KILLED } from '../../core/errors.ts';
import type { IronEvent } from '../../core/events.ts';
import { STAGE } from '../../core/hooks.ts';
import type { Runtime } from '../../core/runtime.ts';
import type { LlmCallContext } from '../../core/context.ts';
import { microsToUsd } from '../cost/money.ts';
import { SyncClient } from './client.ts';
import { Heartbeat } from './heartbeat.ts';
import { Journal, type Orphan } from './journal.ts';
import { LeaseKeeper } from './leases.ts';
import type { SyncOptions } from './options.ts';
import { identityOf, Outbox } from './outbox.ts';

const NAME = 'sync';

/** What the server is told: lifecycle, calls, cost, and what a team is alerted about. Never prompt text. */
export const REPORTED_EVENTS = new Set([
  'AgentStarted',
  'AgentStopped',
  'LlmCallCompleted',
  'LlmCallFailed',
  'CostUpdate',
  'BudgetWarning',
  'BudgetExceeded',
  'PiiAlert',
  'CircuitOpened',
  'CircuitClosed',
  'CallRetried',
  'FallbackTaken',
  'StreamRecovered',
]);

/**
 * When events go to disk. A call's last event (completed or failed) is written with everything recorded before it
 * before the call answers: the call waits for it (`events.recorded()`), and every call that ended in the same turn of
 * the event loop shares that one write (on a small machine each SQLite commit costs more than the rest of the call).
 * An agent's start and stop are written at once. Others (a PiiAlert, a CostUpdate) wait for one of these, at most
 * WRITE_WITHIN_MS.
 */
const CALL_ENDS = new Set(['LlmCallCompleted', 'LlmCallFailed']);
const WRITTEN_AT_ONCE = new Set(['AgentStarted', 'AgentStopped']);
const WRITE_WITHIN_MS = 10;
/** Events kept in memory while the outbox cannot be written (a full disk), to be written with the next ones. */
const MAX_HELD_EVENTS = 10_000;

interface GroupWrite {
  immediate: NodeJS.Immediate;
  /** Settles once the write ran, whatever came of it: calls that ended wait for it before they answer. */
  done: Promise<void>;
  resolve: () => void;
  /** For calls that start in this turn: they go out once the write noted them (rejected when it failed). */
  started?: Promise<void>;
  startedOk?: () => void;
  startFailed?: (error: unknown) => void;
}

type StartedCall = Parameters<Journal['callStarted']>[0];

/** Why a server URL cannot be used, or undefined: http(s) with a host, nothing after the origin but a path. */

/**
 * The API token without the surrounding whitespace a file or a copy-paste adds; a token with a line break or other
 * characters no token has is refused here, naming where it came from but never echoing it — it would otherwise go
 * into an Authorization header, and the HTTP client's error (which quotes the header) to logs and agents.
 */
function checkedToken(from: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const token = raw.trim();
  const bad = token.search(/[^\x21-\x7e]/);
  if (bad >= 0) throw new ConfigError(`${from}: the API token has a space, line break or non-ASCII character at position ${bad + 1} of ${token.length}: set it to the token alone (iron_pat_…, as the server showed it)`, { path: from === 'IRON_TOKEN' ? 'sync.token' : from });
  return token === '' ? undefined : token;
}

function serverUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `uses ${url.protocol.replace(':', '')}, not http or https`;
  if (!url.hostname) return 'has no host';
  if (url.username || url.password) return 'carries credentials (put the API token in IRON_TOKEN or sync.token)';
  if (url.search || url.hash) return 'has a query or fragment';
  return undefined;
}

export class SyncReporter {
  readonly #runtime: Runtime;
  readonly #outbox: Outbox;
  readonly #client: SyncClient;
  readonly #logger: Logger;
  readonly #flushTimeoutMs: number;
  readonly #leases: LeaseKeeper;
  readonly #heartbeat: Heartbeat;
  readonly #journal: Journal;
  #refused = 0;
  #pending: Array<{ id: string; body: string; type: string }> = [];
  /** Calls about to go out: their journal rows are written with the turn's group write, before they go. */
  #startedCalls: StartedCall[] = [];
  /** Calls whose ending events are recorded: their journal rows go once those events are written. */
  #endedCalls: string[] = [];
  #writeSoon: NodeJS.Timeout | undefined;
  /** The write that ending calls wait for, made once the current turn of the event loop has run. */
  #groupWrite: GroupWrite | undefined;
  #writeFailing = false;

  constructor(runtime: Runtime, options: SyncOptions) {
    this.#runtime = runtime;
    this.#logger = runtime.logger.child({ plugin: NAME });
    const server = options.server ?? runtime.env.IRON_SERVER_URL;
    const token = checkedToken(options.token === undefined ? 'IRON_TOKEN' : 'sync.token', options.token ?? runtime.env.IRON_TOKEN);
    if (!server) throw new ConfigError('sync.server: the Iron Cage server URL is missing: set sync.server in iron.config.yaml or IRON_SERVER_URL', { path: 'sync.server' });
    const from = options.server === undefined ? 'IRON_SERVER_URL' : 'sync.server';
    const problem = serverUrlProblem(server);
    if (problem) throw new ConfigError(`${from}: ${JSON.stringify(server)} ${problem}: expected the server's address, e.g. http://127.0.0.1:8787`, { path: from });
    if (!token) throw new ConfigError('sync.token: an API token is missing: create one on the server (POST /api/tokens) and set sync.token or IRON_TOKEN', { path: 'sync.token' });
    const outboxFile = resolve(options.outbox ?? '.iron/outbox.db');
    this.#outbox = new Outbox(outboxFile, options.maxOutboxEvents ?? 1_000_000, identityOf(server, token), options.batchSize ?? 100);
    const others = this.#outbox.othersWaiting();
    if (others > 0) {
      this.#logger.warn(`${others} events in the outbox ${outboxFile} were recorded for another server or API token (or by an older version): they are kept and not sent under this token. Run with that server and token to send them, or remove the file`);
    }
    const holder = `runtime-${randomUUID()}`;
    this.#journal = new Journal(this.#outbox.connection, { server: server.replace(/\/$/, ''), token }, holder);
    this.#client = new SyncClient(this.#outbox, { server: server.replace(/\/$/, ''), token, batchSize: options.batchSize ?? 100, flushIntervalMs: options.flushIntervalMs ?? 100 }, this.#logger);
    this.#flushTimeoutMs = options.flushTimeoutMs ?? 2000;
    this.#leases = new LeaseKeeper(runtime, {
      server: server.replace(/\/$/, ''),
      token,
      holder,
      journal: this.#journal,
      trancheUsd: options.leases?.trancheUsd ?? 0.1,
      ttlSeconds: options.leases?.ttlSeconds ?? 30,
      pollMs: options.leases?.pollMs ?? 1000,
      offline: options.offline ?? 'lease',
    }, this.#logger);
    this.#heartbeat = new Heartbeat({ server: server.replace(/\/$/, ''), token, everyMs: options.heartbeatMs ?? 15_000 }, this.#logger);
  }

  async apply(): Promise<void> {
    const { hooks, events } = this.#runtime;
    // A runtime killed before (same outbox, server and token) left calls, agents and leases in flight: report them.
    const orphans = this.#journal.orphans();
    for (const orphan of orphans) this.#reportKilled(orphan);
    await this.#leases.start();
    await this.#leases.settleOrphans(orphans);
    this.#heartbeat.start(this.#runtime);
    this.#journalCalls();
    events.onAny((event) => this.#record(event));
    events.addRecorder(() => this.#groupWrite?.done);
    hooks.metrics.tap({ name: NAME, stage: STAGE.sync }, (metrics) => ({
      ...metrics,
      plugins: { ...metrics.plugins, sync: { pending: this.#outbox.size + this.#pending.length, sent: this.#client.sent, refused: this.#refused, ...(this.#client.stopped ? { stopped: this.#client.stopped } : {}), ...(this.#client.lastError ? { lastError: this.#client.lastError } : {}) } },
    }));
    hooks.onRuntimeClose.tapPromise({ name: NAME, stage: STAGE.sync }, async () => {
      this.#write();
      if (this.#pending.length > 0) this.#logger.error(`${this.#pending.length} events could not be written to the sync outbox and are lost to the server`);
      this.#heartbeat.close();
      // One time budget for closing: returning leases and sending what is left. A server that never answers costs
      // at most that; what did not go stays in the outbox (and the journal) for the next run.
      const deadline = Date.now() + this.#flushTimeoutMs;
      await this.#leases.close(this.#flushTimeoutMs);
      const left = await this.#client.flush(Math.max(0, deadline - Date.now()));
      if (left > 0) this.#logger.warn(`${left} events could not be sent before closing; they stay in the outbox and are sent by the next run`);
      this.#client.close();
      this.#outbox.close(); // (the journal's connection too)
    });
    // Events a previous run recorded but could not send (a crash, a SIGKILL, a server outage) go first.
    if (this.#outbox.size > 0) this.#client.kick(true);
  }

  /** Notes what is in flight, durably, so that a kill leaves a trace the next run can settle (journal.ts). */
  #journalCalls(): void {
    const { hooks, events } = this.#runtime;
    const reserved = (ctx: LlmCallContext) => (ctx.state.get('cost') as { reservation?: { amount: number } | null } | undefined)?.reservation?.amount ?? 0;
    const noted = new Set<string>();
    // Last of beforeLlmCall: the call goes out now, with the cost plugin's reservation final.
    // Written before the call goes out, in the one transaction of this turn of the event loop (#write) that also
    // stores the events of the calls that ended and forgets their journal rows: a commit per call was a tenth of a
    // busy gateway's CPU, and the call still never leaves unjournalled.
    hooks.beforeLlmCall.tapPromise({ name: NAME, stage: STAGE.sync }, async (request, ctx) => {
      const amount = reserved(ctx);
      await this.#noteStarted({ callId: ctx.callId, agentId: ctx.agent.agentId, provider: ctx.provider.name, model: request.model, reservedMicros: amount });
      noted.add(ctx.callId);
      return request;
    });
    // A finished call leaves the journal only once the events that report it are in the outbox (#write): forgotten
    // before that, a kill in between lost the call from both. The deletes of a turn go in one transaction.
    const ended = (event: { callId: string }) => {
      if (!noted.delete(event.callId)) return;
      this.#endedCalls.push(event.callId);
      this.#groupWrite ??= this.#scheduleGroupWrite();
    };
    events.on('LlmCallCompleted', ended);
    events.on('LlmCallFailed', ended);
    events.on('AgentStarted', (event) => this.#journal.agentStarted(event.agentId, event.name));
    events.on('AgentStopped', (event) => this.#journal.agentStopped(event.agentId));
  }

  /**
   * Reports what a killed runtime had in flight, through the outbox (not the event bus: it is not this run's
   * news): each call failed with IRON_RUNTIME_KILLED and billed at its reservation, each running agent lost.
   */
  #reportKilled(orphan: Orphan): void {
    const now = Date.now();
    const message = `the runtime (pid ${orphan.pid}) was killed while this call was in flight: it is counted at its reservation, the most it could have cost`;
    for (const call of orphan.calls) {
      const base = { agentId: call.agentId, callId: call.callId, provider: call.provider, model: call.model };
      this.#record({ type: 'CostUpdate', time: now, ...base, costUsd: microsToUsd(call.reservedMicros), usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, estimated: true, priced: true, killed: true });
      this.#record({ type: 'LlmCallFailed', time: now, ...base, stream: false, latencyMs: now - call.startedAt, error: { code: IRON_RUNTIME_KILLED, message, status: 500 } });
    }
    for (const agent of orphan.agents) {
      this.#record({ type: 'AgentStopped', time: now, agentId: agent.agentId, status: 'lost', error: { code: IRON_RUNTIME_KILLED, message: `its runtime (pid ${orphan.pid}) was killed` } });
    }
    this.#write();
    if (this.#pending.length === 0) this.#journal.forgetReported(orphan.owner);
    if (orphan.calls.length + orphan.agents.length > 0) {
      this.#logger.warn(`a runtime killed earlier (pid ${orphan.pid}) left ${orphan.calls.length} calls in flight and ${orphan.agents.length} agents running: reported as failed (IRON_RUNTIME_KILLED, counted at their reservation) and lost`);
    }
  }

  #record(event: IronEvent): void {
    if (!REPORTED_EVENTS.has(event.type)) return;
    // Time-ordered ids: the outbox's and the server's unique index on `id` then grow at one end. Random (v4) ids land
    // all over the index, and the server stores them about 3× slower (bench: server ingest).
    const id = timeOrderedId();
    // The id goes in front of the event's own JSON (an event has no `id`): copying the event to add it cost more.
    this.#pending.push({ id, body: `{"id":"${id}",${JSON.stringify(event).slice(1)}`, type: event.type });
    if (WRITTEN_AT_ONCE.has(event.type)) this.#write();
    else if (CALL_ENDS.has(event.type)) this.#groupWrite ??= this.#scheduleGroupWrite();
    else this.#writeSoon ??= setTimeout(() => this.#write(), WRITE_WITHIN_MS);
  }

  /** Settles once the call's journal row is written (the turn's group write), rejects when it could not be. */
  #noteStarted(call: StartedCall): Promise<void> {
    this.#startedCalls.push(call);
    const group = (this.#groupWrite ??= this.#scheduleGroupWrite());
    group.started ??= new Promise<void>((resolve, reject) => {
      group.startedOk = resolve;
      group.startFailed = reject;
    });
    return group.started;
  }

  #scheduleGroupWrite(): GroupWrite {
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    // setImmediate runs after the poll phase: the answers of every upstream that was readable in this turn are in.
    return { immediate: setImmediate(() => this.#write()), done, resolve };
  }

  /** Writes the recorded events to the outbox, in the order they happened; never throws (it runs on timers). */
  #write(): void {
    if (this.#writeSoon) clearTimeout(this.#writeSoon);
    this.#writeSoon = undefined;
    const group = this.#groupWrite;
    this.#groupWrite = undefined;
    if (group) clearImmediate(group.immediate);
    const events = this.#pending;
    this.#pending = [];
    const ended = this.#endedCalls;
    this.#endedCalls = [];
    const started = this.#startedCalls;
    this.#startedCalls = [];
    let written = 0;
    try {
      // One commit: the calls that go out, the events that report calls, and the end of their journal rows.
      this.#outbox.transaction(() => {
        if (started.length > 0) this.#journal.callsStarted(started);
        written = this.#append(events);
        try {
          this.#journal.callsEnded(ended);
        } catch (error) {
          // Still journalled: a kill now would report them again at their reservation (more, never less).
          this.#logger.warn({ err: error }, `the sync journal could not forget ${ended.length} finished calls`);
        }
      });
      this.#writeFailing = false;
      group?.startedOk?.();
    } catch (error) {
      // Nothing of the batch was stored (one transaction): the calls about to start are refused (they would go out
      // unjournalled); the events are kept for the next write, within a bound.
      group?.startFailed?.(error);
      this.#endedCalls = ended.concat(this.#endedCalls);
      this.#pending = events.slice(-MAX_HELD_EVENTS);
      this.#refused += events.length - this.#pending.length;
      if (!this.#writeFailing) this.#logger.error({ err: error }, `the sync outbox cannot be written (is the disk full?): ${this.#pending.length} events are held in memory and written with the next ones (at most ${MAX_HELD_EVENTS})`);
      this.#writeFailing = true;
      return;
    } finally {
      group?.resolve();
    }
    // A stopped agent is reported at once: dashboards should not wait for the next batch.
    if (written > 0) this.#client.kick(events.some((event, i) => i < written && event.type === 'AgentStopped'));
  }

  /** Appends what it can to the outbox (inside #write's transaction); returns how many events it took. */
  #append(events: Array<{ id: string; body: string; type: string }>): number {
    if (events.length === 0) return 0;
    const written = this.#outbox.appendMany(events);
    if (written < events.length) {
      for (let i = written; i < events.length; i++) {
        this.#refused++;
        // Never silent: the first refusal and every 1,000th after it are logged as errors with the count.
        if (this.#refused % 1000 === 1) this.#logger.error(`the sync outbox is full (${this.#outbox.maxEvents} events waiting for the server): ${this.#refused} events were not recorded. Bring the server back or raise sync.maxOutboxEvents`);
      }
    }
    return written;
  }
}
