// The SQL of the ingest writes, as plain text shared by SQLite and PostgreSQL: one `insert … on conflict` per
// table, whose conflict clauses are order-independent (counters add, times take min/max, a stop is never undone by
// a late start), so events of one agent or call may arrive in any order, within or across batches. Rows are value
// arrays in the statement's column order; only the placeholders differ by dialect.

/** Kind of an agent only known from its other events; replaced when AgentStarted arrives (and marks that it has not). */
export const UNKNOWN_KIND = 'unknown';

export interface WriteStatement {
  table: string;
  columns: readonly string[];
  /** The `on conflict …` clause. */
  conflict: string;
}

/** Stored once by id: a re-sent event is a duplicate, acknowledged and ignored. */
export const INSERT_EVENTS: WriteStatement = {
  table: 'events',
  columns: ['id', 'project_id', 'agent_id', 'type', 'time', 'payload'],
  conflict: 'on conflict ("id") do nothing',
};

/** Agents: counters add; AgentStarted (kind ≠ unknown) sets name, kind and startedAt; a stop is kept. */
export const UPSERT_AGENTS: WriteStatement = {
  table: 'agents',
  columns: ['id', 'project_id', 'name', 'kind', 'status', 'started_at', 'stopped_at', 'last_event_at', 'calls', 'failed_calls', 'input_tokens', 'output_tokens', 'cost_micros', 'pii_detections'],
  conflict: `on conflict ("id") do update set
    "name" = case when excluded."kind" = '${UNKNOWN_KIND}' then agents."name" else excluded."name" end,
    "kind" = case when excluded."kind" = '${UNKNOWN_KIND}' then agents."kind" else excluded."kind" end,
    "started_at" = case when excluded."kind" <> '${UNKNOWN_KIND}' then excluded."started_at" when agents."kind" = '${UNKNOWN_KIND}' and excluded."started_at" < agents."started_at" then excluded."started_at" else agents."started_at" end,
    "status" = case when excluded."stopped_at" is not null then excluded."status" when agents."stopped_at" is not null then agents."status" else excluded."status" end,
    "stopped_at" = coalesce(excluded."stopped_at", agents."stopped_at"),
    "last_event_at" = case when excluded."last_event_at" > agents."last_event_at" then excluded."last_event_at" else agents."last_event_at" end,
    "calls" = agents."calls" + excluded."calls",
    "failed_calls" = agents."failed_calls" + excluded."failed_calls",
    "input_tokens" = agents."input_tokens" + excluded."input_tokens",
    "output_tokens" = agents."output_tokens" + excluded."output_tokens",
    "cost_micros" = agents."cost_micros" + excluded."cost_micros",
    "pii_detections" = agents."pii_detections" + excluded."pii_detections"
    where agents."project_id" = excluded."project_id"`,
};

const CALL_COLUMNS = ['id', 'project_id', 'agent_id', 'provider', 'model', 'status', 'stream', 'input_tokens', 'output_tokens', 'cost_micros', 'latency_ms', 'pii_detections', 'error_code', 'time'];
/** Cost and PII counts add up, whichever of a call's events arrive first; another project's call is never touched. */
const ADD_COST_AND_PII = `"cost_micros" = llm_calls."cost_micros" + excluded."cost_micros",
    "pii_detections" = llm_calls."pii_detections" + excluded."pii_detections"
    where llm_calls."project_id" = excluded."project_id"`;

/** Calls with their completion in the batch: the completion sets the row; cost and PII add. */
export const UPSERT_COMPLETED_CALLS: WriteStatement = {
  table: 'llm_calls',
  columns: CALL_COLUMNS,
  conflict: `on conflict ("id") do update set
    "provider" = case when excluded."provider" = '' then llm_calls."provider" else excluded."provider" end,
    "model" = case when excluded."model" = '' then llm_calls."model" else excluded."model" end,
    "status" = excluded."status", "stream" = excluded."stream", "input_tokens" = excluded."input_tokens",
    "output_tokens" = excluded."output_tokens", "latency_ms" = excluded."latency_ms", "error_code" = excluded."error_code",
    "time" = excluded."time",
    ${ADD_COST_AND_PII}`,
};

/** Calls known in the batch only from cost or PII events: a provisional row, or additions to the existing one. */
export const UPSERT_PARTIAL_CALLS: WriteStatement = {
  table: 'llm_calls',
  columns: CALL_COLUMNS,
  conflict: `on conflict ("id") do update set
    "provider" = case when llm_calls."provider" = '' then excluded."provider" else llm_calls."provider" end,
    "model" = case when llm_calls."model" = '' then excluded."model" else llm_calls."model" end,
    ${ADD_COST_AND_PII}`,
};

/**
 * `insert into <table> (<columns>) values (…), … <conflict>` for `rows` rows: `?` placeholders for SQLite,
 * `$1, $2, …` for PostgreSQL.
 */
export function insertSql(statement: WriteStatement, rows: number, postgres: boolean, returning = ''): string {
  const width = statement.columns.length;
  const tuples: string[] = [];
  for (let row = 0; row < rows; row++) {
    const marks: string[] = [];
    for (let column = 1; column <= width; column++) marks.push(postgres ? `$${row * width + column}` : '?');
    tuples.push(`(${marks.join(', ')})`);
  }
  const columns = statement.columns.map((column) => `"${column}"`).join(', ');
  return `insert into "${statement.table}" (${columns}) values ${tuples.join(', ')} ${statement.conflict}${returning ? ` returning ${returning}` : ''}`;
}
