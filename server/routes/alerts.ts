// /api/alerts: the events a person must notice (PII found, a budget nearly spent, a provider's circuit opened), newest
// first, with counts per type over the same window. The dashboard's alerts feed and overview read this, then follow
// /ws for new ones. A partial index on events (alert types only) keeps this cheap without slowing ingest.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { badRequest, ErrorBodySchema } from '../errors.ts';
import { dialectOf, isoOf, kysely, parsePayload, withoutPrompts } from '../ingest/db.ts';

export const ALERT_TYPES = ['PiiAlert', 'BudgetWarning', 'BudgetExceeded', 'CircuitOpened'] as const;
const DAY_MS = 24 * 60 * 60 * 1000;

const AlertType = Type.Union(ALERT_TYPES.map((type) => Type.Literal(type)));

const ListQuery = Type.Object({
  projectId: Type.Optional(Type.String({ format: 'uuid' })),
  type: Type.Optional(Type.Array(AlertType, { description: 'Only these types (repeat the parameter); default all alert types.' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive start; default 24 hours ago.' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive end; default now.' })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
});

const AlertSchema = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  agentId: Type.Union([Type.String(), Type.Null()]),
  agentName: Type.Union([Type.String(), Type.Null()], { description: "The agent's name (null when the event names no agent, or its agent is not known)." }),
  type: Type.String(),
  time: Type.String({ format: 'date-time' }),
  payload: Type.Record(Type.String(), Type.Unknown()),
});

const alertsRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', app.authenticate);

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Alert events (PiiAlert, BudgetWarning, BudgetExceeded, CircuitOpened), newest first, with counts per type',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            since: Type.String({ format: 'date-time' }),
            until: Type.String({ format: 'date-time' }),
            items: Type.Array(AlertSchema),
            counts: Type.Record(Type.String(), Type.Integer(), { description: 'Alerts per type in the window (all of them, not only this page).' }),
          }),
          400: ErrorBodySchema,
          401: ErrorBodySchema,
          404: ErrorBodySchema,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const until = q.until ? Date.parse(q.until) : Date.now();
      const since = q.since ? Date.parse(q.since) : until - DAY_MS;
      if (since >= until) throw badRequest('querystring/since: must be before until', { path: 'querystring/since' });
      if (q.projectId) await app.assertProject(request.principal, q.projectId);
      const visible = await app.visibleProjects(request.principal);
      const window = { since: new Date(since).toISOString(), until: new Date(until).toISOString() };
      if (visible !== 'all' && visible.length === 0) return { ...window, items: [], counts: {} };
      const db = dialectOf(request.em);
      const types = q.type?.length ? q.type : [...ALERT_TYPES];
      let query = kysely(request.em)
        .selectFrom('events')
        // The exact type list of the partial index, so the planner can use it; narrowing by `types` comes after.
        .where('type', 'in', [...ALERT_TYPES])
        .where('time', '>=', db.time(since))
        .where('time', '<', db.time(until));
      if (types.length < ALERT_TYPES.length) query = query.where('type', 'in', types);
      if (q.projectId) query = query.where('project_id', '=', q.projectId);
      else if (visible !== 'all') query = query.where('project_id', 'in', visible);
      const [rows, counts] = await Promise.all([
        query.selectAll().orderBy('time', 'desc').orderBy('id', 'desc').limit(q.limit).execute(),
        query.select((eb) => ['type', eb.fn.countAll().as('n')]).groupBy('type').execute(),
      ]);
      // People read alerts by agent name: one lookup for the page's agents.
      const agentIds = [...new Set(rows.map((row) => row.agent_id).filter((id): id is string => id !== null))];
      const names = new Map(agentIds.length ? (await kysely(request.em).selectFrom('agents').select(['id', 'name']).where('id', 'in', agentIds).execute()).map((a) => [a.id, a.name]) : []);
      return {
        ...window,
        items: rows.map((row) => ({
          id: row.id,
          projectId: row.project_id,
          agentId: row.agent_id,
          agentName: row.agent_id ? (names.get(row.agent_id) ?? null) : null,
          type: row.type,
          time: isoOf(row.time)!,
          payload: withoutPrompts(parsePayload(row.payload)),
        })),
        counts: Object.fromEntries(counts.map((row) => [row.type, Number(row.n)])),
      };
    },
  );
};
export default alertsRoutes;
