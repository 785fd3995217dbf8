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
  costUsd: Type.Union([Type.Number(), Type.Null()], {
    description: 'null when no cost was recorded for the call: refused before it was sent, no cost plugin, or a model without a price (then unpriced is true).',
  }),
  unpriced: Type.Boolean({ description: 'The model had no known price: the cost of this call is unknown, not zero.' }),
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

/** What the events say of a call's cost beyond its sum: whether a cost was recorded, and whether its model was priced. */
export interface CallCostNote {
  recorded: boolean;
  unpriced: boolean;
}

export function callView(row: LlmCallsTable, note: CallCostNote = { recorded: true, unpriced: false }) {
  const costMicros = Number(row.cost_micros);
  // A sum above zero is a priced cost whatever the notes say; a zero is a cost only when a priced CostUpdate said so.
  const known = costMicros > 0 || (note.recorded && !note.unpriced);
  return {
    id: row.id,
    provider: row.provider,
    model: row.model,
    status: row.status,
    stream: boolOf(row.stream),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    costUsd: known ? costMicros / 1e6 : null,
    unpriced: !known && note.unpriced,
    latencyMs: Number(row.latency_ms),
    piiDetections: Number(row.pii_detections),
    errorCode: row.error_code,
    time: isoOf(row.time)!,
  };
}

/** The outcomes of a run, and the agent statuses behind each; any other status (failed, budget_exceeded, lost…) is `failed`. */
export const OUTCOME_STATUSES = {
  running: ['starting', 'running'],
  ok: ['completed'],
  stopped: ['stopped'],
} as const;
export const OUTCOMES = ['running', 'ok', 'stopped', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * A run's outcome follows only how its agent ended: `running` until it ends, `ok` when it completed, `stopped` when
 * it was stopped on purpose, `failed` for any other end (failed, budget_exceeded, lost, a status this server does not
 * know). Calls that failed inside a run that completed do not make it failed: they are counted in `failedCalls`.
 */
export function outcomeOf(status: string): Outcome {
  for (const outcome of ['running', 'ok', 'stopped'] as const) if ((OUTCOME_STATUSES[outcome] as readonly string[]).includes(status)) return outcome;
  return 'failed';
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
