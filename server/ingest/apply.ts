// Stores a batch of runtime events once each and folds the new ones into the agents and llm_calls projections.
// Built for throughput: one transaction per batch, one multi-row `insert … on conflict do nothing returning id`
// (the idempotency check and the insert in one statement, race-free on PostgreSQL too), deltas aggregated in
// memory, then one multi-row upsert per table whose conflict clauses are order-independent (counters add,
// times take min/max, a stop is never undone by a late start), so events of one agent or call may arrive in
// any order, within or across batches. Only portable SQL: the same statements run on SQLite and PostgreSQL.
import type { EntityManager } from '@mikro-orm/core';
import { sql } from 'kysely';
import type { LiveEvent } from '../context.ts';
import { dialectOf, kysely, withoutPrompts, type AgentsTable, type Dialect, type EventsTable, type LlmCallsTable } from './db.ts';

export interface IncomingEvent {
  id: string;
  type: string;
  time: number | string;
  agentId?: string;
  [field: string]: unknown;
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  /** The newly stored events, in batch order, for the live hub (publish only after commit). */
  stored: LiveEvent[];
}

/** Kind of an agent only known from its other events; replaced when AgentStarted arrives (and marks that it has not). */
const UNKNOWN_KIND = 'unknown';
/** Rows per statement: stays far below SQLite's 32,766 bound parameters with 14 columns. */
const CHUNK = 500;
const INT_MAX = 2_147_483_647;

interface AgentDelta {
  id: string;
  name: string | null;
  kind: string | null;
  startedAt: number | null;
  stop: { status: string; time: number } | null;
  firstTime: number;
  lastTime: number;
  calls: number;
  failedCalls: number;
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
  pii: number;
}

interface CallDelta {
  id: string;
  agentId: string;
  firstTime: number;
  provider: string;
  model: string;
  completion: { status: 'ok' | 'failed'; stream: boolean; inputTokens: number; outputTokens: number; latencyMs: number; errorCode: string | null; time: number; provider: string; model: string } | null;
  costMicros: number;
  pii: number;
}

/** A non-negative integer from whatever a runtime sent (projections never fail a batch over one odd field). */
function count(value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : 0;
  return Number.isFinite(n) && n > 0 ? Math.min(Math.round(n), max) : 0;
}

function text(value: unknown, fallback = ''): string {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, 255) : fallback;
}

export function timeOf(value: number | string): number {
  return typeof value === 'number' ? value : Date.parse(value);
}

function agentDelta(agents: Map<string, AgentDelta>, id: string, time: number): AgentDelta {
  let delta = agents.get(id);
  if (!delta) {
    delta = { id, name: null, kind: null, startedAt: null, stop: null, firstTime: time, lastTime: time, calls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, costMicros: 0, pii: 0 };
    agents.set(id, delta);
  } else {
    if (time < delta.firstTime) delta.firstTime = time;
    if (time > delta.lastTime) delta.lastTime = time;
  }
  return delta;
}

function callDelta(calls: Map<string, CallDelta>, id: string, agentId: string, time: number): CallDelta {
  let delta = calls.get(id);
  if (!delta) {
    delta = { id, agentId, firstTime: time, provider: '', model: '', completion: null, costMicros: 0, pii: 0 };
    calls.set(id, delta);
  } else if (time < delta.firstTime) delta.firstTime = time;
  return delta;
}

/** Folds new events into per-agent and per-call deltas. */
function project(events: Array<{ event: IncomingEvent; time: number }>): { agents: Map<string, AgentDelta>; calls: Map<string, CallDelta> } {
  const agents = new Map<string, AgentDelta>();
  const calls = new Map<string, CallDelta>();
  for (const { event, time } of events) {
    const agentId = event.agentId;
    if (!agentId) continue; // circuit events and the like: stored, no projection
    const agent = agentDelta(agents, agentId, time);
    // A call row needs its agent; ids longer than the column would fail the whole batch on PostgreSQL.
    const callId = typeof event.callId === 'string' && event.callId.length > 0 && event.callId.length <= 255 ? event.callId : null;
    switch (event.type) {
      case 'AgentStarted':
        agent.name = text(event.name, agentId);
        agent.kind = text(event.kind, 'unspecified');
        if (agent.kind === UNKNOWN_KIND) agent.kind = 'unspecified';
        agent.startedAt = agent.startedAt === null ? time : Math.min(agent.startedAt, time);
        break;
      case 'AgentStopped':
        if (!agent.stop || time >= agent.stop.time) agent.stop = { status: text(event.status, 'stopped'), time };
        break;
      case 'LlmCallCompleted':
      case 'LlmCallFailed': {
        const failed = event.type === 'LlmCallFailed';
        const usage = (event.usage ?? {}) as Record<string, unknown>;
        const inputTokens = failed ? 0 : count(usage.inputTokens, INT_MAX);
        const outputTokens = failed ? 0 : count(usage.outputTokens, INT_MAX);
        agent.calls += 1;
        if (failed) agent.failedCalls += 1;
        agent.inputTokens += inputTokens;
        agent.outputTokens += outputTokens;
        if (callId) {
          const call = callDelta(calls, callId, agentId, time);
          const error = (event.error ?? {}) as Record<string, unknown>;
          call.completion = {
            status: failed ? 'failed' : 'ok',
            stream: event.stream === true,
            inputTokens,
            outputTokens,
            latencyMs: count(event.latencyMs, INT_MAX),
            errorCode: failed ? text(error.code, 'UNKNOWN') : null,
            time,
            provider: text(event.provider),
            model: text(event.model),
          };
        }
        break;
      }
      case 'CostUpdate': {
        const micros = Math.round((typeof event.costUsd === 'number' && Number.isFinite(event.costUsd) && event.costUsd > 0 ? event.costUsd : 0) * 1e6);
        agent.costMicros += micros;
        if (callId) {
          const call = callDelta(calls, callId, agentId, time);
          call.costMicros += micros;
          if (!call.provider) call.provider = text(event.provider);
          if (!call.model) call.model = text(event.model);
        }
        break;
      }
      case 'PiiAlert': {
        const n = count(event.count, INT_MAX);
        agent.pii += n;
        if (callId) callDelta(calls, callId, agentId, time).pii += n;
        break;
      }
      default:
        break;
    }
  }
  return { agents, calls };
}

function chunks<T>(rows: T[]): T[][] {
  if (rows.length === 0) return [];
  if (rows.length <= CHUNK) return [rows];
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += CHUNK) out.push(rows.slice(i, i + CHUNK));
  return out;
}

function agentRow(projectId: string, d: AgentDelta, db: Dialect): AgentsTable {
  return {
    id: d.id,
    project_id: projectId,
    name: d.name ?? d.id,
    kind: d.kind ?? UNKNOWN_KIND,
    status: d.stop ? d.stop.status : 'running',
    started_at: db.time(d.startedAt ?? d.firstTime),
    stopped_at: d.stop ? db.time(d.stop.time) : null,
    last_event_at: db.time(d.lastTime),
    calls: d.calls,
    failed_calls: d.failedCalls,
    input_tokens: d.inputTokens,
    output_tokens: d.outputTokens,
    cost_micros: d.costMicros,
    pii_detections: d.pii,
  };
}

function callRow(projectId: string, d: CallDelta, db: Dialect): LlmCallsTable {
  const c = d.completion;
  return {
    id: d.id,
    project_id: projectId,
    agent_id: d.agentId,
    provider: c?.provider || d.provider,
    model: c?.model || d.model,
    // A call known only from its cost or PII events is provisionally 'ok'; its completion event settles it.
    status: c?.status ?? 'ok',
    stream: db.bool(c?.stream ?? false),
    input_tokens: c?.inputTokens ?? 0,
    output_tokens: c?.outputTokens ?? 0,
    cost_micros: d.costMicros,
    latency_ms: c?.latencyMs ?? 0,
    pii_detections: d.pii,
    error_code: c?.errorCode ?? null,
    time: db.time(c?.time ?? d.firstTime),
  };
}

/**
 * Stores the batch's new events and applies them to the projections, in one transaction. Resolves after
 * commit; duplicates (already stored, or repeated within the batch) are counted and ignored.
 */
export async function ingestBatch(em: EntityManager, projectId: string, events: IncomingEvent[], options: { storePrompts: boolean }): Promise<IngestResult> {
  const db = dialectOf(em);
  const unique: Array<{ event: IncomingEvent; time: number; payload: Record<string, unknown> }> = [];
  const seen = new Set<string>();
  for (const event of events) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    unique.push({ event, time: timeOf(event.time), payload: options.storePrompts ? event : withoutPrompts(event) });
  }

  const inserted = new Set<string>();
  await em.transactional(async (tx) => {
    const k = kysely(tx);
    for (const part of chunks(unique)) {
      const rows: EventsTable[] = part.map(({ event, time, payload }) => ({
        id: event.id,
        project_id: projectId,
        agent_id: event.agentId ?? null,
        type: event.type,
        time: db.time(time),
        payload: db.json(payload),
      }));
      const sqlite = db.postgres ? undefined : await sqliteDatabase(tx);
      if (sqlite) {
        // The hottest statement, prepared once per row count (the same connection: inside this transaction).
        for (const row of insertEventsSqlite(sqlite, rows)) inserted.add(row.id);
        continue;
      }
      const result = await k.insertInto('events').values(rows).onConflict((oc) => oc.column('id').doNothing()).returning('id').execute();
      for (const row of result) inserted.add(row.id);
    }
    if (inserted.size === 0) return;

    const fresh = inserted.size === unique.length ? unique : unique.filter((u) => inserted.has(u.event.id));
    const { agents, calls } = project(fresh);

    // Agents: counters add; AgentStarted (kind ≠ unknown) sets name, kind and startedAt; a stop is kept.
    for (const part of chunks([...agents.values()])) {
      await k
        .insertInto('agents')
        .values(part.map((d) => agentRow(projectId, d, db)))
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet({
              name: sql`case when excluded.kind = ${UNKNOWN_KIND} then agents.name else excluded.name end`,
              kind: sql`case when excluded.kind = ${UNKNOWN_KIND} then agents.kind else excluded.kind end`,
              started_at: sql`case when excluded.kind <> ${UNKNOWN_KIND} then excluded.started_at when agents.kind = ${UNKNOWN_KIND} and excluded.started_at < agents.started_at then excluded.started_at else agents.started_at end`,
              status: sql`case when excluded.stopped_at is not null then excluded.status when agents.stopped_at is not null then agents.status else excluded.status end`,
              stopped_at: sql`coalesce(excluded.stopped_at, agents.stopped_at)`,
              last_event_at: sql`case when excluded.last_event_at > agents.last_event_at then excluded.last_event_at else agents.last_event_at end`,
              calls: sql`agents.calls + excluded.calls`,
              failed_calls: sql`agents.failed_calls + excluded.failed_calls`,
              input_tokens: sql`agents.input_tokens + excluded.input_tokens`,
              output_tokens: sql`agents.output_tokens + excluded.output_tokens`,
              cost_micros: sql`agents.cost_micros + excluded.cost_micros`,
              pii_detections: sql`agents.pii_detections + excluded.pii_detections`,
            })
            // An agent id that belongs to another project is never touched from this one.
            .where(sql<boolean>`agents.project_id = excluded.project_id`),
        )
        .execute();
    }

    // Calls with their completion in this batch: the completion sets the row; cost and PII add.
    await upsertCalls(k, [...calls.values()].filter((d) => d.completion).map((d) => callRow(projectId, d, db)), {
      provider: sql`case when excluded.provider = '' then llm_calls.provider else excluded.provider end`,
      model: sql`case when excluded.model = '' then llm_calls.model else excluded.model end`,
      status: sql`excluded.status`,
      stream: sql`excluded.stream`,
      input_tokens: sql`excluded.input_tokens`,
      output_tokens: sql`excluded.output_tokens`,
      latency_ms: sql`excluded.latency_ms`,
      error_code: sql`excluded.error_code`,
      time: sql`excluded.time`,
      ...ADD_COST_AND_PII,
    });
    // Calls known here only from cost or PII: create a provisional row or add to the existing one.
    await upsertCalls(k, [...calls.values()].filter((d) => !d.completion).map((d) => callRow(projectId, d, db)), {
      provider: sql`case when llm_calls.provider = '' then excluded.provider else llm_calls.provider end`,
      model: sql`case when llm_calls.model = '' then excluded.model else llm_calls.model end`,
      ...ADD_COST_AND_PII,
    });
  });

  const stored: LiveEvent[] = [];
  for (const { event, time, payload } of unique) {
    if (!inserted.has(event.id)) continue;
    stored.push({ id: event.id, projectId, agentId: event.agentId ?? null, type: event.type, time: new Date(time).toISOString(), payload });
  }
  return { accepted: stored.length, duplicates: events.length - stored.length, stored };
}

/** The better-sqlite3 handle behind an EntityManager (SQLite has one connection: the transaction's own). */
interface SqliteStatement {
  all(...params: unknown[]): Array<{ id: string }>;
}
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
}

async function sqliteDatabase(em: EntityManager): Promise<SqliteDatabase | undefined> {
  const connection = em.getConnection() as unknown as { getNativeClient?: () => Promise<SqliteDatabase> };
  return connection.getNativeClient ? connection.getNativeClient() : undefined;
}

const preparedInserts = new WeakMap<SqliteDatabase, Map<number, SqliteStatement>>();

/** `insert … on conflict do nothing returning id` with a statement cached per row count (SQLite re-prepares each new text). */
function insertEventsSqlite(database: SqliteDatabase, rows: EventsTable[]): Array<{ id: string }> {
  let byCount = preparedInserts.get(database);
  if (!byCount) preparedInserts.set(database, (byCount = new Map()));
  let statement = byCount.get(rows.length);
  if (!statement) {
    const values = new Array(rows.length).fill('(?, ?, ?, ?, ?, ?)').join(', ');
    statement = database.prepare(`insert into events (id, project_id, agent_id, type, time, payload) values ${values} on conflict (id) do nothing returning id`);
    byCount.set(rows.length, statement);
  }
  const params: unknown[] = [];
  for (const row of rows) params.push(row.id, row.project_id, row.agent_id, row.type, row.time, row.payload);
  return statement.all(...params);
}

/** Cost and PII counts add up, whichever of a call's events arrive first. */
const ADD_COST_AND_PII = {
  cost_micros: sql`llm_calls.cost_micros + excluded.cost_micros`,
  pii_detections: sql`llm_calls.pii_detections + excluded.pii_detections`,
};

/** Inserts call rows in chunks; an existing row gets `set`, unless it belongs to another project (then untouched). */
async function upsertCalls(k: ReturnType<typeof kysely>, rows: LlmCallsTable[], set: Record<string, ReturnType<typeof sql>>): Promise<void> {
  for (const part of chunks(rows)) {
    await k
      .insertInto('llm_calls')
      .values(part)
      .onConflict((oc) => oc.column('id').doUpdateSet(set).where(sql<boolean>`llm_calls.project_id = excluded.project_id`))
      .execute();
  }
}
