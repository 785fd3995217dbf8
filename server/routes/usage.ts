// /api/usage: calls, tokens and cost over a time range, grouped by time or dimension; only projects the caller may see.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { Project } from '../entities/index.ts';
import { notFound } from '../errors.ts';
import { aggregateUsage, type GroupBy, type UsageFilter } from '../usage/aggregate.ts';
import { parseRange } from '../usage/range.ts';

const GroupBySchema = Type.Union([Type.Literal('hour'), Type.Literal('day'), Type.Literal('model'), Type.Literal('agent'), Type.Literal('provider'), Type.Literal('project')]);
const Figures = {
  calls: Type.Integer(),
  failedCalls: Type.Integer(),
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  costUsd: Type.Number(),
};

export const UsageReportSchema = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  groupBy: GroupBySchema,
  totals: Type.Object(Figures),
  groups: Type.Array(Type.Object({ key: Type.String(), ...Figures })),
});

const RangeAndGroup = {
  from: Type.Optional(Type.String({ maxLength: 40, description: 'Inclusive start: ISO date or date-time with zone. Default: 30 days before `to`.' })),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'Exclusive end: ISO date or date-time with zone. Default: now. At most 400 days after `from`.' })),
  groupBy: Type.Optional({ ...GroupBySchema, description: 'hour/day buckets are UTC; default day.' }),
};
const Filters = {
  projectId: Type.Optional(Type.String({ format: 'uuid' })),
  agentId: Type.Optional(Type.String({ format: 'uuid' })),
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  provider: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
};

const AggregateQuery = Type.Object({ ...RangeAndGroup, ...Filters });
const ByProjectQuery = Type.Object({ ...RangeAndGroup, agentId: Filters.agentId, model: Filters.model, provider: Filters.provider });
const ByProviderQuery = Type.Object({ ...RangeAndGroup, projectId: Filters.projectId, agentId: Filters.agentId, model: Filters.model });

interface UsageQuery {
  from?: string;
  to?: string;
  groupBy?: GroupBy;
  projectId?: string;
  agentId?: string;
  model?: string;
  provider?: string;
}

const usageRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const authenticated = { onRequest: [app.authenticate] };
  const response = { 200: UsageReportSchema };

  /** Validates the range first (cheap 400s), then scopes the query to what the caller may see. */
  async function report(request: FastifyRequest, query: UsageQuery) {
    const { from, to } = parseRange(query);
    // An explicit project the caller may not see is a 404, like everywhere else (no probing for ids).
    if (query.projectId !== undefined) await app.assertProject(request.principal, query.projectId);
    const filter: UsageFilter = { from, to, visible: await app.visibleProjects(request.principal) };
    for (const key of ['projectId', 'agentId', 'model', 'provider'] as const) if (query[key] !== undefined) filter[key] = query[key];
    return aggregateUsage(request.em, filter, query.groupBy ?? 'day');
  }

  app.get('/aggregate', { ...authenticated, schema: { tags: ['usage'], querystring: AggregateQuery, response } }, async (request) => report(request, request.query));

  app.get(
    '/by-project/:id',
    { ...authenticated, schema: { tags: ['usage'], params: Type.Object({ id: Type.String({ format: 'uuid' }) }), querystring: ByProjectQuery, response } },
    async (request) => {
      await app.assertProject(request.principal, request.params.id);
      if (!(await request.em.findOne(Project, { id: request.params.id }))) throw notFound(`project ${request.params.id}`);
      return report(request, { ...request.query, projectId: request.params.id });
    },
  );

  app.get(
    '/by-provider/:name',
    { ...authenticated, schema: { tags: ['usage'], params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }), querystring: ByProviderQuery, response } },
    async (request) => report(request, { ...request.query, provider: request.params.name }),
  );
};
export default usageRoutes;
