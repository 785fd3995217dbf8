// /api/traces: agent runs (one per agent) with a summary, and one run with its LLM calls and events in time order.
// A run's outcome follows only its agent's end (running, ok, stopped, failed); calls that failed inside a run that
// completed are counted in failedCalls, never make the run failed.
// Event payloads never carry prompt bodies (`prompt`, `messages`) unless the project has storePrompts.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';
import { Type, type Static } from 'typebox';
import { badRequest, ErrorBodySchema, notFound } from '../errors.ts';
import { boolOf, dialectOf, isoOf, kysely, msOf, parsePayload, withoutPrompts } from '../ingest/db.ts';
import { AgentViewSchema, agentView, type CallCostNote, CallViewSchema, callView, OUTCOME_STATUSES, OUTCOMES, outcomeOf, UUID } from '../ingest/views.ts';

const ListQuery = Type.Object({
  projectId: Type.Optional(Type.String({ format: 'uuid' })),
  agentId: Type.Optional(Type.String({ format: 'uuid' })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Search: part of the agent name (any case), or a whole agent id.' })),
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  status: Type.Optional(
    Type.Union(
      OUTCOMES.map((outcome) => Type.Literal(outcome)),
      {
        description:
          "Outcome, which follows only how the agent ended: running (not ended yet), ok (completed), stopped (stopped on purpose), failed (failed, budget_exceeded, lost or any other end). A completed run whose calls partly failed is ok: filter those with withFailedCalls.",
      },
    ),
  ),
  withFailedCalls: Type.Optional(Type.Boolean({ description: 'true: only runs with at least one failed LLM call (failedCalls > 0); false: only runs with none.' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Runs active at or after this time.' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Runs started before this time.' })),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 500, description: 'nextCursor of the previous page (newest first).' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Alternative to cursor (at most 1,000,000).' })),
});

const OutcomeSchema = Type.Union(
  OUTCOMES.map((outcome) => Type.Literal(outcome)),
  { description: 'How the agent ended: running, ok (completed), stopped, failed (any other end). Failed calls of the run are in failedCalls.' },
);
const TraceSummarySchema = Type.Intersect([AgentViewSchema, Type.Object({ outcome: OutcomeSchema, models: Type.Array(Type.String()), durationMs: Type.Integer() })]);

const DetailQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 5000, default: 1000, description: 'Most calls and most events returned.' }) });

/** Keyset cursor: the last run's (startedAt, id), so pages stay stable while new runs arrive. */
function encodeCursor(startedAtMs: number, id: string): string {
  return Buffer.from(JSON.stringify([startedAtMs, id])).toString('base64url');
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown;
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') return [value[0], value[1]];
  } catch {
    // fall through
  }
  throw badRequest('querystring/cursor: not a cursor this server issued', { path: 'querystring/cursor' });
}

/**
 * Which calls had a cost recorded and which were unpriced, from the run's CostUpdate events: the calls table keeps
 * only the sum, and a zero there means "free", "refused before it was sent" or "no price known" alike. Read only when
 * a shown call's sum is zero (a positive sum is a priced cost).
 */
async function costNotes(k: ReturnType<typeof kysely>, agentId: string, projectId: string, calls: Array<{ id: string; cost_micros: number | string }>, limit: number): Promise<Map<string, CallCostNote>> {
  const notes = new Map<string, CallCostNote>();
  if (!calls.some((call) => Number(call.cost_micros) === 0)) return notes;
  const ids = new Set(calls.map((call) => call.id));
  // A call has one CostUpdate (settled once); twice the page bounds the read for runs with strays.
  const rows = await k.selectFrom('events').select('payload').where('agent_id', '=', agentId).where('project_id', '=', projectId).where('type', '=', 'CostUpdate').orderBy('time').orderBy('id').limit(limit * 2).execute();
  for (const row of rows) {
    const payload = parsePayload(row.payload);
    const callId = payload.callId;
    if (typeof callId !== 'string' || !ids.has(callId)) continue;
    const note = notes.get(callId) ?? { recorded: false, unpriced: false };
    if (payload.priced === false) note.unpriced = true;
    else note.recorded = true;
    notes.set(callId, note);
  }
  return notes;
}

const tracesRoutes: FastifyPluginAsync<Record<string, unknown>> = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', app.authenticate);

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/',
    {
      schema: {
        tags: ['traces'],
        summary: 'Agent runs with a summary, newest first (cursor or offset pagination)',
        querystring: ListQuery,
        response: { 200: Type.Object({ items: Type.Array(TraceSummarySchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema },
      },
    },
    async (request) => {
      const q = request.query;
      if (q.projectId) await app.assertProject(request.principal, q.projectId);
      const visible = await app.visibleProjects(request.principal);
      if (visible !== 'all' && visible.length === 0) return { items: [], nextCursor: null };
      const db = dialectOf(request.em);
      const k = kysely(request.em);
      let query = k.selectFrom('agents').selectAll();
      if (q.projectId) query = query.where('project_id', '=', q.projectId);
      else if (visible !== 'all') query = query.where('project_id', 'in', visible);
      if (q.agentId) query = query.where('id', '=', q.agentId);
      if (q.q) {
        const text = q.q.trim();
        // LIKE wildcards in the search text are literal; lower() on both sides works the same on SQLite and PostgreSQL.
        const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        const byName = sql<boolean>`lower(agents.name) like ${pattern} escape '\\'`;
        query = UUID.test(text) ? query.where((eb) => eb.or([eb('id', '=', text.toLowerCase()), byName])) : query.where(byName);
      }
      if (q.model) query = query.where(sql<boolean>`exists (select 1 from llm_calls c where c.agent_id = agents.id and c.model = ${q.model})`);
      if (q.status === 'failed') query = query.where('status', 'not in', [...OUTCOME_STATUSES.running, ...OUTCOME_STATUSES.ok, ...OUTCOME_STATUSES.stopped]);
      else if (q.status) query = query.where('status', 'in', [...OUTCOME_STATUSES[q.status]]);
      if (q.withFailedCalls !== undefined) query = query.where('failed_calls', q.withFailedCalls ? '>' : '=', 0);
      if (q.from) query = query.where('last_event_at', '>=', db.time(Date.parse(q.from)));
      if (q.to) query = query.where('started_at', '<', db.time(Date.parse(q.to)));
      if (q.cursor) {
        const [startedAt, id] = decodeCursor(q.cursor);
        const at = db.time(startedAt);
        query = query.where((eb) => eb.or([eb('started_at', '<', at), eb.and([eb('started_at', '=', at), eb('id', '<', id)])]));
      } else if (q.offset) query = query.offset(q.offset);
      // One extra row tells whether there is a next page without a count.
      const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(q.limit + 1).execute();
      const page = rows.slice(0, q.limit);
      const models = new Map<string, string[]>();
      if (page.length > 0) {
        const pairs = await k
          .selectFrom('llm_calls')
          .select(['agent_id', 'model'])
          .where('agent_id', 'in', page.map((row) => row.id))
          .groupBy(['agent_id', 'model'])
          .orderBy('model')
          .execute();
        for (const pair of pairs) if (pair.model) models.set(pair.agent_id, [...(models.get(pair.agent_id) ?? []), pair.model]);
      }
      const items = page.map((row) => {
        const view = agentView(row);
        return { ...view, outcome: outcomeOf(view.status), models: models.get(row.id) ?? [], durationMs: msOf(row.stopped_at ?? row.last_event_at)! - msOf(row.started_at)! };
      });
      const last = page[page.length - 1];
      return { items, nextCursor: rows.length > q.limit && last ? encodeCursor(msOf(last.started_at)!, last.id) : null };
    },
  );

  app.get<{ Params: { agentId: string }; Querystring: Static<typeof DetailQuery> }>(
    '/:agentId',
    {
      schema: {
        tags: ['traces'],
        summary: 'One run: the agent, its LLM calls and its events in time order',
        params: Type.Object({ agentId: Type.String({ minLength: 1, maxLength: 100 }) }),
        querystring: DetailQuery,
        response: {
          200: Type.Object({
            run: Type.Intersect([AgentViewSchema, Type.Object({ outcome: OutcomeSchema })]),
            calls: Type.Array(CallViewSchema),
            callsTruncated: Type.Boolean(),
            events: Type.Array(Type.Object({ id: Type.String(), type: Type.String(), time: Type.String(), payload: Type.Record(Type.String(), Type.Unknown()) })),
            eventsTruncated: Type.Boolean(),
          }),
          401: ErrorBodySchema,
          404: ErrorBodySchema,
        },
      },
    },
    async (request) => {
      const { agentId } = request.params;
      const limit = request.query.limit;
      if (!UUID.test(agentId)) throw notFound(`trace ${agentId}`);
      const k = kysely(request.em);
      const row = await k.selectFrom('agents').selectAll().where('id', '=', agentId).executeTakeFirst();
      const visible = row ? await app.visibleProjects(request.principal) : [];
      if (!row || (visible !== 'all' && !visible.includes(row.project_id))) throw notFound(`trace ${agentId}`);
      const [project, calls, events] = await Promise.all([
        k.selectFrom('projects').select('store_prompts').where('id', '=', row.project_id).executeTakeFirst(),
        k.selectFrom('llm_calls').selectAll().where('agent_id', '=', agentId).where('project_id', '=', row.project_id).orderBy('time').orderBy('id').limit(limit + 1).execute(),
        k.selectFrom('events').selectAll().where('agent_id', '=', agentId).where('project_id', '=', row.project_id).orderBy('time').orderBy('id').limit(limit + 1).execute(),
      ]);
      const shown = calls.slice(0, limit);
      const notes = await costNotes(k, agentId, row.project_id, shown, limit);
      const storePrompts = boolOf(project?.store_prompts);
      const view = agentView(row);
      return {
        run: { ...view, outcome: outcomeOf(view.status) },
        calls: shown.map((call) => callView(call, notes.get(call.id) ?? { recorded: false, unpriced: false })),
        callsTruncated: calls.length > limit,
        events: events.slice(0, limit).map((event) => {
          const payload = parsePayload(event.payload);
          return { id: event.id, type: event.type, time: isoOf(event.time)!, payload: storePrompts ? payload : withoutPrompts(payload) };
        }),
        eventsTruncated: events.length > limit,
      };
    },
  );
};
export default tracesRoutes;
