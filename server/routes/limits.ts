// /api/limits: budgets and rate limits per project, agent, provider or model glob, each sent with its spend in the current period.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { EntityManager } from '@mikro-orm/core';
import type { FastifyPluginAsync } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { Principal } from '../context.ts';
import { Lease, Limit, Project } from '../entities/index.ts';
import { badRequest, forbidden, notFound } from '../errors.ts';
import { leasedSpend, periodStart, type Period } from '../usage/spend.ts';

const Scope = Type.Union([Type.Literal('project'), Type.Literal('agent'), Type.Literal('provider'), Type.Literal('model')]);
const Kind = Type.Union([Type.Literal('budget'), Type.Literal('rate')]);
const PeriodSchema = Type.Union([Type.Literal('hour'), Type.Literal('day'), Type.Literal('month'), Type.Literal('total')]);

const LimitBody = Type.Object(
  {
    projectId: Type.String({ format: 'uuid' }),
    scope: Scope,
    target: Type.Optional(Type.String({ maxLength: 255, description: "Agent id, provider name or model glob; '' for scope project." })),
    kind: Kind,
    amountUsd: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000_000, description: 'Budgets: USD per period (> 0, at most 1e9).' })),
    period: Type.Optional(PeriodSchema),
    requestsPerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Rate limits: requests per minute (1 to 1,000,000,000).' })),
  },
  { additionalProperties: false },
);
type LimitInput = {
  projectId: string;
  scope: 'project' | 'agent' | 'provider' | 'model';
  target?: string;
  kind: 'budget' | 'rate';
  amountUsd?: number;
  period?: Period;
  requestsPerMinute?: number;
};

export const LimitSchema = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  scope: Scope,
  target: Type.String(),
  kind: Kind,
  amountUsd: Type.Union([Type.Number(), Type.Null()]),
  period: Type.Union([PeriodSchema, Type.Null()]),
  requestsPerMinute: Type.Union([Type.Integer(), Type.Null()]),
  /** Budgets: spent since periodStart (all time for 'total'); null for rate limits. */
  spentUsd: Type.Union([Type.Number(), Type.Null()]),
  enforced: Type.Boolean({ description: 'Whether runtimes enforce this limit today: budgets scoped to the project or an agent are; rate limits and model or provider budgets are recorded and shown, not yet enforced.' }),
  periodStart: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The rules a JSON Schema cannot say plainly; each 400 names the field to fix. */
function checkRules(input: LimitInput): { target: string } {
  const target = (input.target ?? '').trim();
  const fail = (field: string, message: string) => badRequest(`body/${field}: ${message}`, { path: `body/${field}` });
  if (input.scope === 'project' && target !== '') throw fail('target', "scope project applies to the whole project: leave target empty ('')");
  if (input.scope !== 'project' && target === '') throw fail('target', `scope ${input.scope} needs a target (${input.scope === 'agent' ? 'an agent id' : input.scope === 'provider' ? 'a provider name' : 'a model name or glob such as gpt-4o*'})`);
  // Agent ids are UUIDs; anything else could never match (and PostgreSQL would refuse to compare it).
  if (input.scope === 'agent' && !UUID.test(target)) throw fail('target', 'scope agent needs an agent id (a UUID)');
  if (input.kind === 'budget') {
    if (input.amountUsd === undefined) throw fail('amountUsd', 'a budget needs amountUsd > 0');
    if (input.period === undefined) throw fail('period', 'a budget needs a period: hour, day, month or total');
    if (input.requestsPerMinute !== undefined) throw fail('requestsPerMinute', 'only rate limits take requestsPerMinute');
  } else {
    if (input.requestsPerMinute === undefined) throw fail('requestsPerMinute', 'a rate limit needs requestsPerMinute ≥ 1');
    if (input.amountUsd !== undefined) throw fail('amountUsd', 'only budgets take amountUsd');
    if (input.period !== undefined) throw fail('period', 'only budgets take a period');
  }
  return { target };
}

type LimitRow = { id: string; projectId: string; scope: LimitInput['scope']; target: string; kind: LimitInput['kind']; amountUsd?: number | string | null; period?: Period | null; requestsPerMinute?: number | null; createdAt: Date };

/** What runtimes (plugins/sync/leases.ts) enforce: budgets on the project or one agent. */
export function isEnforced(limit: { kind: string; scope: string }): boolean {
  return limit.kind === 'budget' && (limit.scope === 'project' || limit.scope === 'agent');
}

/**
 * What was spent against a budget limit in its period: the calls ingested, or — when runtimes reported more on the
 * limit's leases (an outbox not delivered yet, a runtime that broke the rules) — that reported use plus what was spent
 * before the first lease. Never less than what the server already knows was spent.
 */
async function spentOf(em: EntityManager, limit: LimitRow, now: Date): Promise<number> {
  const start = periodStart(limit.period!, now);
  const leases = await em.find(Lease, { limitId: limit.id, ...(start ? { createdAt: { $gte: start } } : {}) }, { fields: ['usedMicros', 'createdAt'] });
  const { spent, reported, beforeLeases } = await leasedSpend(em, { projectId: limit.projectId, scope: limit.scope, target: limit.target, period: limit.period! }, leases, now);
  return Math.max(spent, reported + beforeLeases);
}

async function limitView(em: EntityManager, limit: LimitRow, now = new Date()) {
  const budget = limit.kind === 'budget' && limit.period;
  const start = budget ? periodStart(limit.period!, now) : null;
  return {
    id: limit.id,
    projectId: limit.projectId,
    scope: limit.scope,
    target: limit.target,
    kind: limit.kind,
    // MikroORM types doubles as number | string (drivers differ): always send a number.
    amountUsd: limit.amountUsd == null ? null : Number(limit.amountUsd),
    period: limit.period ?? null,
    requestsPerMinute: limit.requestsPerMinute ?? null,
    spentUsd: budget ? (await spentOf(em, limit, now)) / 1e6 : null,
    periodStart: start ? start.toISOString() : null,
    enforced: isEnforced(limit),
    createdAt: limit.createdAt.toISOString(),
  };
}

const limitsRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const authenticated = { onRequest: [app.authenticate] };

  /** Writers: admins, or members of the project. Unseen projects are 404 first, so ids cannot be probed. */
  async function assertCanWrite(principal: Principal, projectId: string): Promise<void> {
    await app.assertProject(principal, projectId);
    if (principal.kind !== 'user') throw forbidden('API tokens may read limits but not change them: log in as a member or admin');
    if (principal.role === 'viewer') throw forbidden('viewers may read limits but not change them');
  }

  async function assertProjectExists(em: EntityManager, projectId: string): Promise<void> {
    if (!(await em.findOne(Project, { id: projectId }))) throw notFound(`project ${projectId}`);
  }

  /** A limit the caller may see, or 404 either way. */
  async function visibleLimit(em: EntityManager, principal: Principal, id: string) {
    const limit = await em.findOne(Limit, { id });
    if (!limit) throw notFound(`limit ${id}`);
    const visible = await app.visibleProjects(principal);
    if (visible !== 'all' && !visible.includes(limit.projectId)) throw notFound(`limit ${id}`);
    return limit;
  }

  app.get(
    '/',
    { ...authenticated, schema: { tags: ['limits'], querystring: Type.Object({ projectId: Type.Optional(Type.String({ format: 'uuid' })) }), response: { 200: Type.Object({ limits: Type.Array(LimitSchema) }) } } },
    async (request) => {
      const { projectId } = request.query;
      if (projectId !== undefined) await app.assertProject(request.principal, projectId);
      const visible = await app.visibleProjects(request.principal);
      if (visible !== 'all' && visible.length === 0) return { limits: [] };
      const where = projectId !== undefined ? { projectId } : visible === 'all' ? {} : { projectId: { $in: visible } };
      const rows = await request.em.find(Limit, where, { orderBy: { createdAt: 'asc', id: 'asc' } });
      const now = new Date();
      return { limits: await Promise.all(rows.map((row) => limitView(request.em, row, now))) };
    },
  );

  app.post('/', { ...authenticated, schema: { tags: ['limits'], body: LimitBody, response: { 201: LimitSchema } } }, async (request, reply) => {
    const input = request.body as LimitInput;
    await assertCanWrite(request.principal, input.projectId);
    await assertProjectExists(request.em, input.projectId);
    const { target } = checkRules(input);
    const limit = request.em.create(Limit, { id: randomUUID(), ...limitFields(input, target) });
    await request.em.flush();
    return reply.status(201).send(await limitView(request.em, limit));
  });

  app.get('/:id', { ...authenticated, schema: { tags: ['limits'], params: IdParams, response: { 200: LimitSchema } } }, async (request) =>
    limitView(request.em, await visibleLimit(request.em, request.principal, request.params.id)),
  );

  // PUT replaces the limit (same body as POST); moving it to another project needs write access to both.
  app.put('/:id', { ...authenticated, schema: { tags: ['limits'], params: IdParams, body: LimitBody, response: { 200: LimitSchema } } }, async (request) => {
    const input = request.body as LimitInput;
    const limit = await visibleLimit(request.em, request.principal, request.params.id);
    await assertCanWrite(request.principal, limit.projectId);
    if (input.projectId !== limit.projectId) {
      await assertCanWrite(request.principal, input.projectId);
      await assertProjectExists(request.em, input.projectId);
    }
    const { target } = checkRules(input);
    Object.assign(limit, limitFields(input, target));
    await request.em.flush();
    return limitView(request.em, limit);
  });

  app.delete('/:id', { ...authenticated, schema: { tags: ['limits'], params: IdParams, response: { 204: Type.Null() } } }, async (request, reply) => {
    const limit = await visibleLimit(request.em, request.principal, request.params.id);
    await assertCanWrite(request.principal, limit.projectId);
    request.em.remove(limit);
    await request.em.flush();
    return reply.status(204).send(null);
  });
};
export default limitsRoutes;

/** The stored columns of a limit, from a validated body (POST and PUT write the same fields). */
function limitFields(input: LimitInput, target: string) {
  return {
    projectId: input.projectId,
    scope: input.scope,
    target,
    kind: input.kind,
    amountUsd: input.amountUsd ?? null,
    period: input.period ?? null,
    requestsPerMinute: input.requestsPerMinute ?? null,
  };
}
