// /api/agents: agent state and metrics from the ingest projection, limited to the caller's projects; runtimes'
// heartbeats for their running agents (a silent one becomes lost: ingest/lost.ts).
// People see their projects' agents; an API token (read-only here) sees its own project's. Anything else is a
// 404, never a 403, so ids cannot be probed.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { ErrorBodySchema, forbidden, notFound } from '../errors.ts';
import { dialectOf, kysely } from '../ingest/db.ts';
import { startLostSweep } from '../ingest/lost.ts';
import { AgentViewSchema, agentView, UUID } from '../ingest/views.ts';

const ListQuery = Type.Object({
  projectId: Type.Optional(Type.String({ format: 'uuid' })),
  status: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'At most 1,000,000: page further with filters or a cursor.' }),
});

const HeartbeatBody = Type.Object(
  { agentIds: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 1000, description: 'The running agents of this runtime.' }) },
  { additionalProperties: false },
);

const agentsRoutes: FastifyPluginAsync<Record<string, unknown>> = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', app.authenticate);

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/',
    {
      schema: {
        tags: ['agents'],
        summary: 'Agents with their state and metrics, newest first',
        querystring: ListQuery,
        response: { 200: Type.Object({ items: Type.Array(AgentViewSchema), total: Type.Integer() }), 401: ErrorBodySchema, 404: ErrorBodySchema },
      },
    },
    async (request) => {
      const { projectId, status, limit, offset } = request.query;
      if (projectId) await app.assertProject(request.principal, projectId);
      const visible = await app.visibleProjects(request.principal);
      if (visible !== 'all' && visible.length === 0) return { items: [], total: 0 };
      let query = kysely(request.em).selectFrom('agents');
      if (projectId) query = query.where('project_id', '=', projectId);
      else if (visible !== 'all') query = query.where('project_id', 'in', visible);
      if (status) query = query.where('status', '=', status);
      const [rows, total] = await Promise.all([
        query.selectAll().orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute(),
        query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { items: rows.map(agentView), total: Number(total.n) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/:id',
    {
      schema: {
        tags: ['agents'],
        summary: 'One agent with its state and metrics',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }),
        response: { 200: AgentViewSchema, 401: ErrorBodySchema, 404: ErrorBodySchema },
      },
    },
    async (request) => {
      // Agent ids are UUIDs (a uuid column on PostgreSQL): anything else cannot exist.
      if (!UUID.test(request.params.id)) throw notFound(`agent ${request.params.id}`);
      const row = await kysely(request.em).selectFrom('agents').selectAll().where('id', '=', request.params.id).executeTakeFirst();
      const visible = row ? await app.visibleProjects(request.principal) : [];
      if (!row || (visible !== 'all' && !visible.includes(row.project_id))) throw notFound(`agent ${request.params.id}`);
      return agentView(row);
    },
  );

  app.post<{ Body: Static<typeof HeartbeatBody> }>(
    '/heartbeat',
    {
      schema: {
        tags: ['agents'],
        summary: "A runtime's sign of life for its running agents: they stay running (a lost one is running again); agents silent for IRON_AGENT_LOST_AFTER_S become lost",
        body: HeartbeatBody,
        response: { 200: Type.Object({ seen: Type.Integer({ description: 'Agents of the project that are known, not stopped, and were marked seen.' }) }), 401: ErrorBodySchema, 403: ErrorBodySchema },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (principal.kind !== 'token') throw forbidden('heartbeats are sent by runtimes: use a project API token (iron_pat_…)');
      const ids = [...new Set(request.body.agentIds)];
      const db = dialectOf(request.em);
      const result = await kysely(request.em)
        .updateTable('agents')
        // The server's clock, not the runtime's: a runtime whose clock lags must not look silent.
        .set((eb) => ({
          status: eb.case().when('status', '=', 'lost').then('running').else(eb.ref('status')).end(),
          last_event_at: eb.case().when('last_event_at', '<', db.time(Date.now())).then(db.time(Date.now())).else(eb.ref('last_event_at')).end(),
        }))
        .where('project_id', '=', principal.projectId)
        .where('id', 'in', ids)
        .where('stopped_at', 'is', null)
        .executeTakeFirst();
      return { seen: Number(result.numUpdatedRows) };
    },
  );

  startLostSweep(fastify);
};
export default agentsRoutes;
