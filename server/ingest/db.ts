// Raw table shapes and value conversions for the ingest and read paths, which use Kysely directly (bulk SQL)
// and so must write exactly what MikroORM writes: SQLite keeps datetimes as epoch ms and booleans as 0/1,
// PostgreSQL takes Date and boolean; PostgreSQL returns bigints and timestamps as strings.
import type { EntityManager } from '@mikro-orm/core';
import type { Kysely } from 'kysely';
import { isSqlite } from '../db.ts';

export interface AgentsTable {
  id: string;
  project_id: string;
  name: string;
  kind: string;
  status: string;
  started_at: DbTime;
  stopped_at: DbTime | null;
  last_event_at: DbTime;
  calls: number;
  failed_calls: number;
  input_tokens: number | string;
  output_tokens: number | string;
  cost_micros: number | string;
  pii_detections: number;
}

export interface EventsTable {
  id: string;
  project_id: string;
  agent_id: string | null;
  type: string;
  time: DbTime;
  payload: unknown;
}

export interface LlmCallsTable {
  id: string;
  project_id: string;
  agent_id: string;
  provider: string;
  model: string;
  status: string;
  stream: number | boolean;
  input_tokens: number;
  output_tokens: number;
  cost_micros: number | string;
  latency_ms: number;
  pii_detections: number;
  error_code: string | null;
  time: DbTime;
}

export interface ProjectsTable {
  id: string;
  name: string;
  store_prompts: number | boolean;
}

/** The columns authentication reads on every API-token request (ingest's hot path). */
export interface ApiTokensTable {
  id: string;
  project_id: string;
  token_hash: string;
  expires_at: DbTime | null;
  revoked_at: DbTime | null;
  last_used_at: DbTime | null;
}

/** Only what ingest reads of a webhook: which events it wants. */
export interface WebhooksTable {
  id: string;
  project_id: string;
  /** JSON text (SQLite) or jsonb (PostgreSQL): the event types it is subscribed to. */
  events: unknown;
}

/** The webhook queue, as the delivery worker reads and claims it. */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  response_status: number | null;
  last_error: string | null;
  next_attempt_at: DbTime | null;
  created_at: DbTime;
  delivered_at: DbTime | null;
}

export interface IngestDb {
  webhooks: WebhooksTable & { url: string; secret: string };
  webhook_deliveries: WebhookDeliveriesTable;
  agents: AgentsTable;
  events: EventsTable;
  llm_calls: LlmCallsTable;
  projects: ProjectsTable;
  api_tokens: ApiTokensTable;
}

/** A datetime as stored: epoch ms (SQLite), a Date going to PostgreSQL, a string coming back from it. */
export type DbTime = number | Date | string;

export interface Dialect {
  postgres: boolean;
  time(ms: number): DbTime;
  bool(value: boolean): number | boolean;
  /** PostgreSQL jsonb refuses the NUL escape, which would fail a whole batch for one odd string. */
  json(value: unknown): string;
}

export const SQLITE: Dialect = {
  postgres: false,
  time: (ms) => ms,
  bool: (value) => (value ? 1 : 0),
  json: (value) => JSON.stringify(value),
};

export const POSTGRES: Dialect = {
  postgres: true,
  time: (ms) => new Date(ms),
  bool: (value) => value,
  json: (value) => {
    const text = JSON.stringify(value);
    return text.includes('\\u0000') ? text.replaceAll('\\u0000', '') : text;
  },
};

export function dialectOf(em: EntityManager): Dialect {
  return isSqlite(em) ? SQLITE : POSTGRES;
}

export function kysely(em: EntityManager): Kysely<IngestDb> {
  return (em as unknown as { getKysely<T>(): Kysely<T> }).getKysely<IngestDb>();
}

/** A stored datetime back to epoch ms. */
export function msOf(value: DbTime | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.getTime();
  const asNumber = Number(value);
  // PostgreSQL text form: '2026-01-02 03:04:05.678+00' (space separator, short offset).
  return Number.isFinite(asNumber) ? asNumber : Date.parse(value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
}

export function isoOf(value: DbTime | null | undefined): string | null {
  const ms = msOf(value);
  return ms === null ? null : new Date(ms).toISOString();
}

export function boolOf(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't' || value === 'true';
}

/**
 * Fields that carry what was said to or by a model, at any depth: dropped from stored and returned payloads unless the
 * project opted in (storePrompts). Runtimes never send them; other clients of the ingest API might.
 */
export const PROMPT_FIELDS: ReadonlySet<string> = new Set([
  'prompt', 'prompts', 'messages', 'input', 'inputs', 'system', 'instructions', 'output', 'outputs', 'completion', 'completions', 'choices', 'content', 'text', 'request', 'response', 'tools',
]);

/** The payload without PROMPT_FIELDS at any depth (the same object when it has none: the common case costs no copy). */
export function withoutPrompts(payload: Record<string, unknown>): Record<string, unknown> {
  return stripPrompts(payload, 0) as Record<string, unknown>;
}

function stripPrompts(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object' || depth > 32) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const stripped = stripPrompts(item, depth + 1);
      if (stripped !== item) (copy ??= [...value])[i] = stripped;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (PROMPT_FIELDS.has(key)) {
      copy ??= { ...(value as Record<string, unknown>) };
      delete copy[key];
      continue;
    }
    const stripped = stripPrompts(item, depth + 1);
    if (stripped !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = stripped;
  }
  return copy ?? value;
}

export function parsePayload(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return (value ?? {}) as Record<string, unknown>;
}
