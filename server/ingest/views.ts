// What the agents and traces routes return for the projections: rows (SQLite or PostgreSQL shapes) to JSON,
// with the matching TypeBox schemas so the OpenAPI document and the serializer agree.
import { Type } from 'typebox';
import type { AgentsTable, LlmCallsTable } from './db.ts';
import { boolOf, isoOf } from './db.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const AgentViewSchema = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  status: Type.String(),
  startedAt: Type.String({ format: 'date-time' }),
  stoppedAt: Nullable(Type.String({ format: 'date-time' })),
  lastEventAt: Type.String({ format: 'date-time' }),
  calls: Type.Integer(),
  failedCalls: Type.Integer(),
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  tokens: Type.Integer({ description: 'inputTokens + outputTokens' }),
  costUsd: Type.Number(),
  piiDetections: Type.Integer(),
});

export const CallViewSchema = Type.Object({
  id: Type.String(),
  provider: Type.String(),
  model: Type.String(),
  status: Type.String(),
  stream: Type.Boolean(),
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  costUsd: Type.Number(),
  latencyMs: Type.Integer(),
  piiDetections: Type.Integer(),
  errorCode: Nullable(Type.String()),
  time: Type.String({ format: 'date-time' }),
});

export interface AgentView {
  id: string;
  projectId: string;
  name: string;
  kind: string;
  status: string;
  startedAt: string;
  stoppedAt: string | null;
  lastEventAt: string;
  calls: number;
  failedCalls: number;
  inputTokens: number;
  outputTokens: number;
  tokens: number;
  costUsd: number;
  piiDetections: number;
}

export function agentView(row: AgentsTable): AgentView {
  const inputTokens = Number(row.input_tokens);
  const outputTokens = Number(row.output_tokens);
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    kind: row.kind,
    status: row.status,
    startedAt: isoOf(row.started_at)!,
    stoppedAt: isoOf(row.stopped_at),
    lastEventAt: isoOf(row.last_event_at)!,
    calls: Number(row.calls),
    failedCalls: Number(row.failed_calls),
    inputTokens,
    outputTokens,
    tokens: inputTokens + outputTokens,
    costUsd: Number(row.cost_micros) / 1e6,
    piiDetections: Number(row.pii_detections),
  };
}

export function callView(row: LlmCallsTable) {
  return {
    id: row.id,
    provider: row.provider,
    model: row.model,
    status: row.status,
    stream: boolOf(row.stream),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    costUsd: Number(row.cost_micros) / 1e6,
    latencyMs: Number(row.latency_ms),
    piiDetections: Number(row.pii_detections),
    errorCode: row.error_code,
    time: isoOf(row.time)!,
  };
}

/** Agent statuses that end a run as failed (with any failed LLM call, they make a trace "failed"). */
export const FAILED_STATUSES = ['failed', 'budget_exceeded'];

/**
 * A run's outcome follows how its agent ended: `failed` when the agent failed or ran out of budget; otherwise
 * `errors` when some of its calls failed (an agent that caught a refused call and finished is not a failed run), else
 * `ok`. The count of failed calls is in `failedCalls`.
 */
export function outcomeOf(view: AgentView): 'ok' | 'errors' | 'failed' {
  if (FAILED_STATUSES.includes(view.status)) return 'failed';
  return view.failedCalls > 0 ? 'errors' : 'ok';
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
