// Folds a batch's newly stored events into the agents and llm_calls projections: deltas aggregated in memory (one
// row per agent and per call, however many of its events the batch holds), then rows for the upserts in
// statements.ts. Projections never fail a batch over one odd field: bad numbers count as 0, long text is cut.
import type { Dialect } from './db.ts';
import { UNKNOWN_KIND, UPSERT_AGENTS, UPSERT_COMPLETED_CALLS, UPSERT_PARTIAL_CALLS, type WriteStatement } from './statements.ts';

export interface IncomingEvent {
  id: string;
  type: string;
  time: number | string;
  agentId?: string;
  [field: string]: unknown;
}

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
function fold(events: Array<{ event: IncomingEvent; time: number }>): { agents: Map<string, AgentDelta>; calls: Map<string, CallDelta> } {
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

function agentRow(projectId: string, d: AgentDelta, db: Dialect): unknown[] {
  // In UPSERT_AGENTS column order.
  return [
    d.id,
    projectId,
    d.name ?? d.id,
    d.kind ?? UNKNOWN_KIND,
    d.stop ? d.stop.status : 'running',
    db.time(d.startedAt ?? d.firstTime),
    d.stop ? db.time(d.stop.time) : null,
    db.time(d.lastTime),
    d.calls,
    d.failedCalls,
    d.inputTokens,
    d.outputTokens,
    d.costMicros,
    d.pii,
  ];
}

function callRow(projectId: string, d: CallDelta, db: Dialect): unknown[] {
  const c = d.completion;
  // In UPSERT_*_CALLS column order. A call known only from its cost or PII events is provisionally 'ok'; its
  // completion event settles it.
  return [
    d.id,
    projectId,
    d.agentId,
    c?.provider || d.provider,
    c?.model || d.model,
    c?.status ?? 'ok',
    db.bool(c?.stream ?? false),
    c?.inputTokens ?? 0,
    c?.outputTokens ?? 0,
    d.costMicros,
    c?.latencyMs ?? 0,
    d.pii,
    c?.errorCode ?? null,
    db.time(c?.time ?? d.firstTime),
  ];
}

/** The upserts that apply `events` (newly stored, in batch order) to the projections, in the order to run them. */
export function projectionWrites(projectId: string, events: Array<{ event: IncomingEvent; time: number }>, db: Dialect): Array<{ statement: WriteStatement; rows: unknown[][] }> {
  const { agents, calls } = fold(events);
  const completed: unknown[][] = [];
  const partial: unknown[][] = [];
  for (const call of calls.values()) (call.completion ? completed : partial).push(callRow(projectId, call, db));
  const agentRows: unknown[][] = [];
  for (const agent of agents.values()) agentRows.push(agentRow(projectId, agent, db));
  return [
    { statement: UPSERT_AGENTS, rows: agentRows },
    { statement: UPSERT_COMPLETED_CALLS, rows: completed },
    { statement: UPSERT_PARTIAL_CALLS, rows: partial },
  ];
}
