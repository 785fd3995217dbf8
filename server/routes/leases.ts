// /api/leases: runtimes borrow tranches of a server budget, so several runtimes sharing one limit can never spend
// more than it together. Grants are atomic: never more than limit − committed, where active leases count in full
// and returned or expired ones count what their holder reported using.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { EntityManager } from '@mikro-orm/core';
import type { FastifyPluginAsync } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { Principal } from '../context.ts';
import { Lease, Limit } from '../entities/index.ts';
import { badRequest, forbidden, notFound } from '../errors.ts';
import { isSqlite } from '../db.ts';
import { periodStart, spentMicros } from '../usage/spend.ts';
import { microsToUsd, usdToMicros } from '../../plugins/cost/money.ts';

const Usd = (description: string) => Type.Number({ minimum: 0, maximum: 1_000_000, description });
const GrantBody = Type.Object(
  {
    limitId: Type.String({ format: 'uuid' }),
    holder: Type.String({ minLength: 1, maxLength: 200, description: 'Who borrows (a runtime id).' }),
    requestUsd: Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, description: 'How much the runtime would like to be able to spend.' }),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600, description: 'The lease expires unless renewed within this. Default 60.' })),
  },
  { additionalProperties: false },
);
const RenewBody = Type.Object(
  {
    usedUsd: Usd('Spent under this lease so far (never decreases).'),
    requestUsd: Type.Optional(Usd('More to add to the grant, as far as the budget allows.')),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
  },
  { additionalProperties: false },
);
const ReturnBody = Type.Object({ usedUsd: Usd('Spent under this lease in total.') }, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

const LeaseSchema = Type.Object({
  id: Type.String(),
  limitId: Type.String(),
  holder: Type.String(),
  status: Type.String(),
  grantedUsd: Type.Number(),
  usedUsd: Type.Number(),
  expiresAt: Type.String({ format: 'date-time' }),
  /** What the limit can still lend after this answer. */
  availableUsd: Type.Number(),
  /** The grant fell short of the request: the budget is (nearly) used up. */
  exhausted: Type.Boolean(),
});

const DEFAULT_TTL_S = 60;

/** Leases are for the runtimes of the limit's project (API tokens) and for admins. */
function assertMayLease(principal: Principal, limit: { projectId: string }): void {
  if (principal.kind === 'token') {
    if (principal.projectId !== limit.projectId) throw notFound('limit');
    return;
  }
  if (principal.role !== 'admin') throw forbidden('leases are taken by runtimes (API tokens of the project) or admins');
}

/**
 * Locks the limit for the rest of the transaction (PostgreSQL `for update`; SQLite runs one writer at a time),
 * expires stale leases, and returns what the limit can still lend.
 */
interface LimitRow {
  id: string;
  projectId: string;
  scope: 'project' | 'agent' | 'provider' | 'model';
  target: string;
  amountUsd?: number | string | null;
  period?: 'hour' | 'day' | 'month' | 'total' | null;
}

async function available(em: EntityManager, limit: LimitRow): Promise<number> {
  const connection = em.getConnection();
  if (!isSqlite(em)) await connection.execute('select "id" from "limits" where "id" = ? for update', [limit.id], 'all', em.getTransactionContext());
  const now = new Date();
  await em.nativeUpdate(Lease, { limitId: limit.id, status: 'active', expiresAt: { $lt: now } }, { status: 'expired' });
  const start = periodStart(limit.period ?? 'total', now);
  const leases = await em.find(Lease, { limitId: limit.id, ...(start ? { createdAt: { $gte: start } } : {}) });
  const committed = leases.reduce((sum, lease) => sum + (lease.status === 'active' ? lease.grantedMicros : lease.usedMicros), 0);
  const spent = await spentMicros(em, { projectId: limit.projectId, scope: limit.scope, target: limit.target, period: limit.period ?? 'total' }, now);
  return Math.max(0, usdToMicros(Number(limit.amountUsd ?? 0)) - Math.max(committed, spent));
}

function view(lease: { id: string; limitId: string; holder: string; status: string; grantedMicros: number; usedMicros: number; expiresAt: Date }, availableMicros: number, requested: number) {
  return {
    id: lease.id,
    limitId: lease.limitId,
    holder: lease.holder,
    status: lease.status,
    grantedUsd: microsToUsd(lease.grantedMicros),
    usedUsd: microsToUsd(lease.usedMicros),
    expiresAt: lease.expiresAt.toISOString(),
    availableUsd: microsToUsd(availableMicros),
    exhausted: requested > 0,
  };
}

const leasesRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const authenticated = { onRequest: app.authenticate };

  app.post('/', { ...authenticated, schema: { tags: ['leases'], body: GrantBody, response: { 201: LeaseSchema } } }, async (request, reply) => {
    const body = request.body;
    const result = await request.em.transactional(async (em) => {
      const limit = await em.findOne(Limit, { id: body.limitId });
      if (!limit) throw notFound('limit');
      assertMayLease(request.principal, limit);
      if (limit.kind !== 'budget') throw badRequest('body/limitId: only budget limits are lent (this is a rate limit)', { path: 'body/limitId' });
      const free = await available(em, limit);
      const granted = Math.min(free, usdToMicros(body.requestUsd));
      const lease = em.create(Lease, {
        id: randomUUID(),
        limitId: limit.id,
        projectId: limit.projectId,
        holder: body.holder,
        grantedMicros: granted,
        usedMicros: 0,
        status: 'active',
        expiresAt: new Date(Date.now() + (body.ttlSeconds ?? DEFAULT_TTL_S) * 1000),
      });
      await em.flush();
      return view(lease, free - granted, usdToMicros(body.requestUsd) - granted);
    });
    return reply.status(201).send(result);
  });

  app.post('/:id/renew', { ...authenticated, schema: { tags: ['leases'], params: IdParams, body: RenewBody, response: { 200: LeaseSchema } } }, async (request) =>
    request.em.transactional(async (em) => {
      const lease = await em.findOne(Lease, { id: request.params.id });
      if (!lease) throw notFound('lease');
      const limit = await em.findOneOrFail(Limit, { id: lease.limitId });
      assertMayLease(request.principal, limit);
      if (lease.status !== 'active') throw badRequest(`lease ${lease.id} is ${lease.status}: take a new one`);
      lease.usedMicros = Math.min(lease.grantedMicros, Math.max(lease.usedMicros, usdToMicros(request.body.usedUsd)));
      const wanted = usdToMicros(request.body.requestUsd ?? 0);
      let free = await available(em, limit);
      const more = Math.min(free, wanted);
      lease.grantedMicros += more;
      free -= more;
      lease.expiresAt = new Date(Date.now() + (request.body.ttlSeconds ?? DEFAULT_TTL_S) * 1000);
      await em.flush();
      return view(lease, free, wanted - more);
    }),
  );

  app.post('/:id/return', { ...authenticated, schema: { tags: ['leases'], params: IdParams, body: ReturnBody, response: { 200: LeaseSchema } } }, async (request) =>
    request.em.transactional(async (em) => {
      const lease = await em.findOne(Lease, { id: request.params.id });
      if (!lease) throw notFound('lease');
      const limit = await em.findOneOrFail(Limit, { id: lease.limitId });
      assertMayLease(request.principal, limit);
      lease.usedMicros = Math.min(lease.grantedMicros, Math.max(lease.usedMicros, usdToMicros(request.body.usedUsd)));
      if (lease.status === 'active') lease.status = 'returned';
      await em.flush();
      return view(lease, await available(em, limit), 0);
    }),
  );
};

export default leasesRoutes;
